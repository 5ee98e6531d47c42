/*
 * host_config.c — pnphost's configuration file, parsed with libconfig (docs/pnphost.md has the
 * format).
 *
 * libconfig does the syntax; this file checks the meaning: every key is known, every value has
 * the type and range its key needs, and every error names the file and line of the setting at
 * fault ("pnphost.conf:12: devices[1]: unknown key 'instanse'"). Nothing is loaded or created
 * here: the whole file is checked before pnphost acts on any of it.
 *
 * Who frees what: host_config_free frees every string and array of a host_config.
 */
#include "host/server/host_internal.h"

#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct parse {
    const char *main_file;
    char *dir;               /* the configuration file's folder, for relative paths */
    char *err;
    size_t err_size;
    bool failed;
} parse;

static bool fail(parse *p, const config_setting_t *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(parse *p, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->failed)
        return false;
    p->failed = true;
    n = snprintf(p->err, p->err_size, "%s:%u: ",
                 s && config_setting_source_file(s) ? config_setting_source_file(s) : p->main_file,
                 s ? config_setting_source_line(s) : 0u);
    if (n < 0 || (size_t)n >= p->err_size)
        return false;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

static const char *type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "nothing";
    }
}

/* Checks that every member of group s is one of `known` (NULL-terminated). */
static bool only_known_keys(parse *p, const config_setting_t *s, const char *where, const char *const *known)
{
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        bool ok = false;
        for (int k = 0; known[k] && !ok; k++)
            ok = strcmp(m->name, known[k]) == 0;
        if (!ok)
            return fail(p, m, "%s%sunknown key '%s'", where, *where ? ": " : "", m->name);
    }
    return true;
}

static bool get_string(parse *p, const config_setting_t *s, const char *what, char **out)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(p, s, "%s must be a string, not %s", what, type_name(config_setting_type(s)));
    const char *v = config_setting_get_string(s);
    if (!v || !*v)
        return fail(p, s, "%s must not be empty", what);
    *out = strdup(v);
    return *out != NULL || fail(p, s, "out of memory");
}

static bool get_uint(parse *p, const config_setting_t *s, const char *what, unsigned min, unsigned max, unsigned *out)
{
    long long v;
    if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
        return fail(p, s, "%s must be an integer, not %s", what, type_name(config_setting_type(s)));
    v = config_setting_get_int64(s);
    if (v < (long long)min || v > (long long)max)
        return fail(p, s, "%s must be between %u and %u, not %lld", what, min, max, v);
    *out = (unsigned)v;
    return true;
}

/* A list of device ids: an array (or list) of non-empty strings without '\0' surprises, each at
 * most 199 characters (an id is part of an instance id). */
static bool get_id_list(parse *p, const config_setting_t *s, const char *what, char ***out, int *count, bool required)
{
    int n;

    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return fail(p, s, "%s must be an array of strings, not %s", what, type_name(config_setting_type(s)));
    n = config_setting_length(s);
    if (required && n == 0)
        return fail(p, s, "%s must name at least one id", what);
    *out = calloc((size_t)n + 1, sizeof(char *));
    if (!*out)
        return fail(p, s, "out of memory");
    *count = n;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return fail(p, e, "%s[%d] must be a string, not %s", what, i, type_name(config_setting_type(e)));
        const char *v = config_setting_get_string(e);
        if (!*v || strlen(v) > PNPH_MAX_ID_CHARS)
            return fail(p, e, "%s[%d] must be 1 to %u characters long", what, i, PNPH_MAX_ID_CHARS);
        (*out)[i] = strdup(v);
        if (!(*out)[i])
            return fail(p, e, "out of memory");
    }
    return true;
}

static bool get_user(parse *p, const config_setting_t *s, const char *what, uid_t *out)
{
    if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v < 0 || v >= (long long)UINT32_MAX)
            return fail(p, s, "%s: %lld is not a user id", what, v);
        *out = (uid_t)v;
        return true;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(p, s, "%s must be a user name or id, not %s", what, type_name(config_setting_type(s)));
    const struct passwd *pw = getpwnam(config_setting_get_string(s));
    if (!pw)
        return fail(p, s, "%s: no user named '%s'", what, config_setting_get_string(s));
    *out = pw->pw_uid;
    return true;
}

static bool get_group(parse *p, const config_setting_t *s, const char *what, gid_t *out)
{
    if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v < 0 || v >= (long long)UINT32_MAX)
            return fail(p, s, "%s: %lld is not a group id", what, v);
        *out = (gid_t)v;
        return true;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(p, s, "%s must be a group name or id, not %s", what, type_name(config_setting_type(s)));
    const struct group *gr = getgrnam(config_setting_get_string(s));
    if (!gr)
        return fail(p, s, "%s: no group named '%s'", what, config_setting_get_string(s));
    *out = gr->gr_gid;
    return true;
}

/* A permission mode: a string of octal digits ("0660"), or an integer no larger than 0777
 * (libconfig reads 0660 written bare as decimal 660, which this refuses). */
static bool get_mode(parse *p, const config_setting_t *s, const char *what, unsigned *out)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        const char *v = config_setting_get_string(s);
        char *end;
        errno = 0;
        unsigned long m = strtoul(v, &end, 8);
        if (!*v || *end || errno || m > 0777)
            return fail(p, s, "%s must be octal digits no larger than \"0777\", not \"%s\"", what, v);
        *out = (unsigned)m;
        return true;
    }
    if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v < 0 || v > 0777)
            return fail(p, s, "%s must be a string of octal digits such as \"0660\" (a bare %lld is read as decimal)",
                        what, v);
        *out = (unsigned)v;
        return true;
    }
    return fail(p, s, "%s must be a string of octal digits such as \"0660\", not %s", what,
                type_name(config_setting_type(s)));
}

static bool parse_driver(parse *p, const config_setting_t *s, int index, host_driver_cfg *d)
{
    static const char *const known[] = { "path", "hardware_ids", "name", NULL };
    char where[32];
    const config_setting_t *m;
    char *path = NULL;

    snprintf(where, sizeof(where), "drivers[%d]", index);
    d->line = (int)config_setting_source_line(s);
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return fail(p, s, "%s must be a group { path = ...; hardware_ids = [...]; }", where);
    if (!only_known_keys(p, s, where, known))
        return false;
    if (!(m = config_setting_get_member(s, "path")))
        return fail(p, s, "%s: missing key 'path'", where);
    if (!get_string(p, m, "path", &path))
        return false;
    if (path[0] == '/') {
        d->path = path;
    } else {
        if (asprintf(&d->path, "%s/%s", p->dir, path) < 0)
            d->path = NULL;
        free(path);
        if (!d->path)
            return fail(p, m, "out of memory");
    }
    if (!(m = config_setting_get_member(s, "hardware_ids")))
        return fail(p, s, "%s: missing key 'hardware_ids'", where);
    if (!get_id_list(p, m, "hardware_ids", &d->hardware_ids, &d->n_hardware_ids, true))
        return false;
    if ((m = config_setting_get_member(s, "name"))) {
        if (!get_string(p, m, "name", &d->name))
            return false;
        for (const char *c = d->name; *c; c++)
            if (*c == '\\' || *c == '/')
                return fail(p, m, "name must not contain '\\' or '/'");
    } else {
        /* libfoo_drv.so -> foo_drv */
        const char *base = strrchr(d->path, '/') + 1;
        if (strncmp(base, "lib", 3) == 0 && base[3])
            base += 3;
        d->name = strndup(base, strcspn(base, "."));
        if (!d->name || !*d->name)
            return fail(p, s, "%s: cannot derive a service name from the path; add name = \"...\"", where);
    }
    return true;
}

static bool parse_device(parse *p, const config_setting_t *s, int index, host_device_cfg *d)
{
    static const char *const known[] = { "enumerator", "instance", "hardware_ids", "compatible_ids", "description",
                                         NULL };
    char where[32];
    const config_setting_t *m;

    snprintf(where, sizeof(where), "devices[%d]", index);
    d->line = (int)config_setting_source_line(s);
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return fail(p, s, "%s must be a group { enumerator = ...; instance = ...; hardware_ids = [...]; }", where);
    if (!only_known_keys(p, s, where, known))
        return false;
    if (!(m = config_setting_get_member(s, "enumerator")))
        return fail(p, s, "%s: missing key 'enumerator'", where);
    if (!get_string(p, m, "enumerator", &d->enumerator))
        return false;
    if (!(m = config_setting_get_member(s, "instance")))
        return fail(p, s, "%s: missing key 'instance'", where);
    if (!get_string(p, m, "instance", &d->instance))
        return false;
    if (strchr(d->enumerator, '\\') || strchr(d->instance, '\\'))
        return fail(p, s, "%s: enumerator and instance must not contain '\\'", where);
    if (strlen(d->enumerator) + strlen(d->instance) + 5 > PNPH_MAX_ID_CHARS)
        return fail(p, s, "%s: the instance id SWD\\%s\\%s is longer than %u characters", where, d->enumerator,
                    d->instance, PNPH_MAX_ID_CHARS);
    if (!(m = config_setting_get_member(s, "hardware_ids")))
        return fail(p, s, "%s: missing key 'hardware_ids'", where);
    if (!get_id_list(p, m, "hardware_ids", &d->hardware_ids, &d->n_hardware_ids, true))
        return false;
    if ((m = config_setting_get_member(s, "compatible_ids")) &&
        !get_id_list(p, m, "compatible_ids", &d->compatible_ids, &d->n_compatible_ids, false))
        return false;
    if ((m = config_setting_get_member(s, "description")) && !get_string(p, m, "description", &d->description))
        return false;
    return true;
}

static bool parse_access(parse *p, const config_setting_t *s, int index, host_access_cfg *a)
{
    static const char *const known[] = { "class", "owner", "group", "mode", NULL };
    char where[40];
    const config_setting_t *m;

    snprintf(where, sizeof(where), "interface_access[%d]", index);
    a->line = (int)config_setting_source_line(s);
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return fail(p, s, "%s must be a group { class = \"{guid}\"; owner = ...; group = ...; mode = \"0660\"; }",
                    where);
    if (!only_known_keys(p, s, where, known))
        return false;
    if (!(m = config_setting_get_member(s, "class")))
        return fail(p, s, "%s: missing key 'class'", where);
    if (config_setting_type(m) != CONFIG_TYPE_STRING ||
        !NT_SUCCESS(PnpkitGuidParse(config_setting_get_string(m), &a->class_guid)))
        return fail(p, m, "class must be a GUID in braces such as \"{1c8a7d3e-55aa-4e21-9b3c-102233445566}\"");
    if ((m = config_setting_get_member(s, "owner"))) {
        a->has_owner = true;
        if (!get_user(p, m, "owner", &a->owner))
            return false;
    }
    if ((m = config_setting_get_member(s, "group"))) {
        a->has_group = true;
        if (!get_group(p, m, "group", &a->group))
            return false;
    }
    if (!(m = config_setting_get_member(s, "mode")))
        return fail(p, s, "%s: missing key 'mode'", where);
    if (!get_mode(p, m, "mode", &a->mode))
        return false;
    return true;
}

static bool parse_list(parse *p, const config_setting_t *s, const char *what, int *count, void **items, size_t size)
{
    int n;
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return fail(p, s, "%s must be a list ( { ... }, { ... } ), not %s", what, type_name(config_setting_type(s)));
    n = config_setting_length(s);
    *items = calloc((size_t)n + 1, size);
    if (!*items)
        return fail(p, s, "out of memory");
    *count = n;
    return true;
}

bool host_config_load(const char *file, host_config *cfg, char *err, size_t err_size)
{
    static const char *const known[] = { "socket", "group", "socket_mode", "notification_timeout_ms", "max_clients",
                                         "drivers", "devices", "interface_access", NULL };
    config_t lc;
    parse p = { file, NULL, err, err_size, false };
    const config_setting_t *root, *m;
    char *slash;

    memset(cfg, 0, sizeof(*cfg));
    cfg->socket_mode = 0660;
    cfg->notification_timeout_ms = 30000;
    cfg->max_clients = 1024;
    cfg->file = strdup(file);
    p.dir = strdup(file);
    if (!cfg->file || !p.dir) {
        snprintf(err, err_size, "%s: out of memory", file);
        free(p.dir);
        return false;
    }
    slash = strrchr(p.dir, '/');
    if (slash && slash != p.dir)
        *slash = 0;
    else if (slash)
        slash[1] = 0;
    else
        strcpy(p.dir, ".");

    config_init(&lc);
    config_set_include_dir(&lc, p.dir);
    if (config_read_file(&lc, file) != CONFIG_TRUE) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
            snprintf(err, err_size, "%s:0: cannot read the file: %s", file, strerror(errno ? errno : ENOENT));
        else
            snprintf(err, err_size, "%s:%d: %s", config_error_file(&lc) ? config_error_file(&lc) : file,
                     config_error_line(&lc), config_error_text(&lc));
        p.failed = true;
        goto done;
    }
    root = config_root_setting(&lc);
    if (!only_known_keys(&p, root, "", known))
        goto done;

    if ((m = config_setting_get_member(root, "socket"))) {
        if (!get_string(&p, m, "socket", &cfg->socket_path))
            goto done;
        if (cfg->socket_path[0] != '/' || strlen(cfg->socket_path) >= sizeof(((struct host_state *)0)->socket_path)) {
            fail(&p, m, "socket must be an absolute path shorter than %zu characters",
                 sizeof(((struct host_state *)0)->socket_path));
            goto done;
        }
    }
    if ((m = config_setting_get_member(root, "group"))) {
        cfg->has_group = true;
        if (!get_group(&p, m, "group", &cfg->group))
            goto done;
    }
    if ((m = config_setting_get_member(root, "socket_mode")) && !get_mode(&p, m, "socket_mode", &cfg->socket_mode))
        goto done;
    if ((m = config_setting_get_member(root, "notification_timeout_ms")) &&
        !get_uint(&p, m, "notification_timeout_ms", 1, 600000, &cfg->notification_timeout_ms))
        goto done;
    if ((m = config_setting_get_member(root, "max_clients")) &&
        !get_uint(&p, m, "max_clients", 1, 65536, &cfg->max_clients))
        goto done;

    if ((m = config_setting_get_member(root, "drivers"))) {
        if (!parse_list(&p, m, "drivers", &cfg->n_drivers, (void **)&cfg->drivers, sizeof(*cfg->drivers)))
            goto done;
        for (int i = 0; i < cfg->n_drivers; i++) {
            if (!parse_driver(&p, config_setting_get_elem(m, (unsigned)i), i, &cfg->drivers[i]))
                goto done;
            for (int j = 0; j < i; j++)
                if (strcasecmp(cfg->drivers[j].name, cfg->drivers[i].name) == 0) {
                    fail(&p, config_setting_get_elem(m, (unsigned)i),
                         "drivers[%d]: the service name '%s' is used by drivers[%d] too", i, cfg->drivers[i].name, j);
                    goto done;
                }
        }
    }
    if ((m = config_setting_get_member(root, "devices"))) {
        if (!parse_list(&p, m, "devices", &cfg->n_devices, (void **)&cfg->devices, sizeof(*cfg->devices)))
            goto done;
        for (int i = 0; i < cfg->n_devices; i++) {
            if (!parse_device(&p, config_setting_get_elem(m, (unsigned)i), i, &cfg->devices[i]))
                goto done;
            for (int j = 0; j < i; j++)
                if (strcasecmp(cfg->devices[j].enumerator, cfg->devices[i].enumerator) == 0 &&
                    strcasecmp(cfg->devices[j].instance, cfg->devices[i].instance) == 0) {
                    fail(&p, config_setting_get_elem(m, (unsigned)i), "devices[%d]: SWD\\%s\\%s is created by devices[%d] too",
                         i, cfg->devices[i].enumerator, cfg->devices[i].instance, j);
                    goto done;
                }
        }
    }
    if ((m = config_setting_get_member(root, "interface_access"))) {
        if (!parse_list(&p, m, "interface_access", &cfg->n_access, (void **)&cfg->access, sizeof(*cfg->access)))
            goto done;
        for (int i = 0; i < cfg->n_access; i++) {
            if (!parse_access(&p, config_setting_get_elem(m, (unsigned)i), i, &cfg->access[i]))
                goto done;
            for (int j = 0; j < i; j++)
                if (IsEqualGUID(&cfg->access[j].class_guid, &cfg->access[i].class_guid)) {
                    fail(&p, config_setting_get_elem(m, (unsigned)i),
                         "interface_access[%d]: the class has a rule in interface_access[%d] already", i, j);
                    goto done;
                }
        }
    }

done:
    config_destroy(&lc);
    free(p.dir);
    if (p.failed) {
        host_config_free(cfg);
        return false;
    }
    return true;
}

static void free_ids(char **ids, int n)
{
    if (!ids)
        return;
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

void host_config_free(host_config *cfg)
{
    for (int i = 0; i < cfg->n_drivers; i++) {
        free(cfg->drivers[i].path);
        free(cfg->drivers[i].name);
        free_ids(cfg->drivers[i].hardware_ids, cfg->drivers[i].n_hardware_ids);
    }
    for (int i = 0; i < cfg->n_devices; i++) {
        free(cfg->devices[i].enumerator);
        free(cfg->devices[i].instance);
        free(cfg->devices[i].description);
        free_ids(cfg->devices[i].hardware_ids, cfg->devices[i].n_hardware_ids);
        free_ids(cfg->devices[i].compatible_ids, cfg->devices[i].n_compatible_ids);
    }
    free(cfg->drivers);
    free(cfg->devices);
    free(cfg->access);
    free(cfg->socket_path);
    free(cfg->file);
    memset(cfg, 0, sizeof(*cfg));
}

void host_default_socket_path(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        snprintf(buf, size, "/run/pnpkit/pnphost.sock");
    else if (xdg && xdg[0] == '/')
        snprintf(buf, size, "%s/pnpkit/pnphost.sock", xdg);
    else
        snprintf(buf, size, "/tmp/pnpkit-%u/pnphost.sock", (unsigned)geteuid());
}

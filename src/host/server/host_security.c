/*
 * host_security.c — who may talk to pnphost, and who may open what.
 *
 *   - The socket is created with mode 0600 (umask during bind) and only then opened up to
 *     socket_mode (default 0660) and the configured group, so there is no window with looser
 *     permissions. A live host on the same path is never replaced; a stale socket file is.
 *   - Each new connection's peer credentials (SO_PEERCRED) are checked against the same rule
 *     the file mode expresses: root, the host's own user, or a member of the socket's group.
 *     The kernel already enforces the mode; this check keeps the rule when the socket file is
 *     reachable some other way (a bind mount, a mode changed by hand).
 *   - An interface class can be restricted by an interface_access rule (owner, group, mode):
 *     an open asks for read (GENERIC_READ, FILE_READ_DATA) and/or write (GENERIC_WRITE,
 *     FILE_WRITE_DATA, FILE_APPEND_DATA) and gets STATUS_ACCESS_DENIED when the rule's bits for
 *     the opener's class of user do not allow it. Root is never refused. The class is read from
 *     the link itself (pnp.md 1.3 fixes the link format).
 *   - What a driver or the hardware does to a device — raising a custom event
 *     (IoReportTargetDeviceChangeAsynchronous) or vanishing (surprise removal) — is reserved to
 *     the socket's owner: root and the host's own user. Members of the socket's group are
 *     served as applications are on Windows: they may list, open (within interface_access),
 *     listen, and ask for an orderly removal (eject, disable, enable), which drivers and other
 *     applications may veto; they cannot bypass the veto or speak for a driver.
 */
#include "host/server/host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static gid_t socket_group;

/* True if the process `pid` (with primary group `gid`) belongs to group g. Supplementary groups
 * come from /proc/<pid>/status; a process that is gone meanwhile counts with its primary group
 * only. */
static bool peer_in_group(const struct ucred *cred, gid_t g)
{
    char path[64], line[1024];
    FILE *f;
    bool found = false;

    if (cred->gid == g)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)cred->pid);
    f = fopen(path, "re");
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Groups:", 7) != 0)
            continue;
        char *p = line + 7, *end;
        for (;;) {
            unsigned long v = strtoul(p, &end, 10);
            if (end == p)
                break;
            if ((gid_t)v == g) {
                found = true;
                break;
            }
            p = end;
        }
        break;
    }
    fclose(f);
    return found;
}

int host_security_listen(const char *path, gid_t group, bool has_group, unsigned mode)
{
    struct sockaddr_un addr;
    char dir[sizeof(addr.sun_path)];
    char *slash;
    int fd;
    mode_t old_umask;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        host_log(HOST_LOG_ERROR, "socket path %s is too long (at most %zu characters)", path, sizeof(addr.sun_path) - 1);
        return -1;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, path);

    /* The folder: created (0755) when missing, one level deep. */
    strcpy(dir, path);
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        if (mkdir(dir, 0755) == 0 && has_group && chown(dir, (uid_t)-1, group) != 0)
            host_log(HOST_LOG_INFO, "cannot give %s to group %u: %s", dir, (unsigned)group, strerror(errno));
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        host_log(HOST_LOG_ERROR, "socket: %s", strerror(errno));
        return -1;
    }
    /* A socket file left by a host that died is replaced; a live host's is not. */
    if (access(path, F_OK) == 0) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool alive = probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0;
        if (probe >= 0)
            close(probe);
        if (alive) {
            host_log(HOST_LOG_ERROR, "another pnphost serves %s already", path);
            close(fd);
            return -1;
        }
        unlink(path);
    }
    old_umask = umask(0177);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        umask(old_umask);
        host_log(HOST_LOG_ERROR, "bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    umask(old_umask);
    socket_group = has_group ? group : getegid();
    if (has_group && chown(path, (uid_t)-1, group) != 0) {
        host_log(HOST_LOG_ERROR, "cannot give %s to group %u: %s", path, (unsigned)group, strerror(errno));
        goto fail;
    }
    if (chmod(path, (mode_t)mode) != 0) {
        host_log(HOST_LOG_ERROR, "chmod %s: %s", path, strerror(errno));
        goto fail;
    }
    if (listen(fd, 128) != 0) {
        host_log(HOST_LOG_ERROR, "listen %s: %s", path, strerror(errno));
        goto fail;
    }
    return fd;

fail:
    unlink(path);
    close(fd);
    return -1;
}

bool host_security_accept(int fd, struct ucred *cred)
{
    socklen_t len = sizeof(*cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) != 0 || len != sizeof(*cred)) {
        host_log(HOST_LOG_INFO, "refusing a connection whose credentials cannot be read: %s", strerror(errno));
        return false;
    }
    if (cred->uid == 0 || cred->uid == geteuid() || peer_in_group(cred, socket_group))
        return true;
    host_log(HOST_LOG_INFO, "refusing pid %d: uid %u is neither root, the host's user, nor in group %u",
             (int)cred->pid, (unsigned)cred->uid, (unsigned)socket_group);
    return false;
}

NTSTATUS host_security_check_open(const struct ucred *cred, const WCHAR *name, ACCESS_MASK access)
{
    const host_access_cfg *rule = NULL;
    GUID g;
    unsigned bits, need = 0;

    if (host.cfg.n_access == 0)
        return STATUS_SUCCESS;
    if (!pnph_link_class(name, &g))
        return STATUS_OBJECT_NAME_NOT_FOUND; /* not a link: it would not open anyway */
    for (int i = 0; i < host.cfg.n_access && !rule; i++)
        if (IsEqualGUID(&host.cfg.access[i].class_guid, &g))
            rule = &host.cfg.access[i];
    if (!rule || cred->uid == 0)
        return STATUS_SUCCESS;
    if (rule->has_owner && cred->uid == rule->owner)
        bits = (rule->mode >> 6) & 7u;
    else if (rule->has_group && peer_in_group(cred, rule->group))
        bits = (rule->mode >> 3) & 7u;
    else
        bits = rule->mode & 7u;
    if (access & (GENERIC_READ | GENERIC_ALL | FILE_READ_DATA))
        need |= 4u;
    if (access & (GENERIC_WRITE | GENERIC_ALL | FILE_WRITE_DATA | FILE_APPEND_DATA))
        need |= 2u;
    if (need ? (bits & need) != need : bits == 0) {
        host_log(HOST_LOG_INFO, "pid %d (uid %u) may not open %s: interface_access rule of line %d",
                 (int)cred->pid, (unsigned)cred->uid, need & 2u ? "for writing" : "for reading", rule->line);
        return STATUS_ACCESS_DENIED;
    }
    return STATUS_SUCCESS;
}

bool host_security_may_control(const struct ucred *cred)
{
    if (cred->uid == 0 || cred->uid == geteuid())
        return true;
    host_log(HOST_LOG_INFO, "pid %d (uid %u) may not raise device events or surprise-remove: not the host's owner",
             (int)cred->pid, (unsigned)cred->uid);
    return false;
}

/*
 * <pnpkit/ntdef.h> — Windows base types for pnpkit on Linux.
 *
 * What this header owns: the fixed-width Windows integer and pointer types, WCHAR and the
 * string types built on it, GUID with DEFINE_GUID, LIST_ENTRY with its inline list functions,
 * LARGE_INTEGER, LUID, CONTAINING_RECORD/FIELD_OFFSET, and empty SAL annotations so that code
 * written against the Windows headers compiles unchanged.
 *
 * Wide strings. WCHAR is UTF-16 (char16_t), as on Windows. On Linux `L"..."` is 32-bit, so
 * pnpkit code writes wide literals as `u"..."` (the WSTR() macro does the same). A program that
 * would rather keep `L"..."` may compile with -fshort-wchar: wchar_t is then a 16-bit unsigned
 * type and L literals are valid PCWSTR values (glibc's wcs* functions must then not be used).
 */
#ifndef PNPKIT_NTDEF_H
#define PNPKIT_NTDEF_H

#include <stddef.h>
#include <stdint.h>
#include <uchar.h>

#ifdef __cplusplus
#define PNPKIT_EXTERN_C extern "C"
#define PNPKIT_BEGIN_DECLS extern "C" {
#define PNPKIT_END_DECLS }
#else
#define PNPKIT_EXTERN_C extern
#define PNPKIT_BEGIN_DECLS
#define PNPKIT_END_DECLS
#endif

#define PNPKIT_API __attribute__((visibility("default")))

/* ---- Integer and pointer types (LP64: LONG is 32-bit, as on Windows) ---- */
typedef void VOID, *PVOID, *LPVOID;
typedef const void *PCVOID, *LPCVOID;
typedef char CHAR, *PCHAR, *PSTR, *LPSTR;
typedef const char *PCSTR, *LPCSTR, *PCCH;
typedef unsigned char UCHAR, *PUCHAR, BYTE, *PBYTE;
typedef int16_t SHORT, *PSHORT;
typedef uint16_t USHORT, *PUSHORT, WORD;
typedef int32_t LONG, *PLONG, INT, *PINT;
typedef uint32_t ULONG, *PULONG, UINT, DWORD, *PDWORD, *LPDWORD;
typedef int64_t LONGLONG, *PLONGLONG, LONG64, *PLONG64;
typedef uint64_t ULONGLONG, *PULONGLONG, ULONG64, *PULONG64, DWORD64;
typedef intptr_t LONG_PTR, *PLONG_PTR, INT_PTR;
typedef uintptr_t ULONG_PTR, *PULONG_PTR, UINT_PTR, DWORD_PTR;
typedef size_t SIZE_T, *PSIZE_T;
typedef intptr_t SSIZE_T;
typedef UCHAR BOOLEAN, *PBOOLEAN;
typedef int BOOL, *PBOOL;
typedef void *HANDLE, **PHANDLE;
typedef LONG NTSTATUS, *PNTSTATUS;
typedef LONG HRESULT;
typedef ULONG ACCESS_MASK, *PACCESS_MASK;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* ---- Wide characters: UTF-16 code units ---- */
typedef char16_t WCHAR, *PWCHAR, *PWSTR, *LPWSTR, *PZZWSTR;
typedef const char16_t *PCWSTR, *LPCWSTR, *PCZZWSTR, *PCWCH;
/* WSTR("text") is a PCWSTR literal. */
#define WSTR(s) u##s

/* ---- Large integers and LUIDs ---- */
typedef union _LARGE_INTEGER {
    struct { ULONG LowPart; LONG HighPart; };
    struct { ULONG LowPart; LONG HighPart; } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    struct { ULONG LowPart; ULONG HighPart; };
    struct { ULONG LowPart; ULONG HighPart; } u;
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef struct _LUID {
    ULONG LowPart;
    LONG HighPart;
} LUID, *PLUID;

/* ---- GUID ---- */
typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID, *PGUID, *LPGUID, UUID;
typedef const GUID *LPCGUID, *PCGUID, *REFGUID;

/*
 * DEFINE_GUID(name, ...) defines `const GUID name` in every translation unit that uses it; the
 * definitions are weak, so the linker keeps one (the role __declspec(selectany) plays on
 * Windows). INITGUID is accepted and changes nothing.
 */
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
    PNPKIT_EXTERN_C const GUID name __attribute__((weak)); \
    const GUID __attribute__((weak)) name = { l, w1, w2, { b1, b2, b3, b4, b5, b6, b7, b8 } }

static inline BOOLEAN IsEqualGUID(const GUID *a, const GUID *b)
{
    return (BOOLEAN)(__builtin_memcmp(a, b, sizeof(GUID)) == 0);
}
#define InlineIsEqualGUID IsEqualGUID

/* ---- Structure helpers ---- */
#define FIELD_OFFSET(type, field) ((LONG)offsetof(type, field))
#define RTL_FIELD_SIZE(type, field) (sizeof(((type *)0)->field))
#define RTL_SIZEOF_THROUGH_FIELD(type, field) (FIELD_OFFSET(type, field) + RTL_FIELD_SIZE(type, field))
#define CONTAINING_RECORD(address, type, field) \
    ((type *)((char *)(address) - offsetof(type, field)))
#define ARRAYSIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RTL_NUMBER_OF(a) ARRAYSIZE(a)
#define UNREFERENCED_PARAMETER(p) ((void)(p))
#define ANYSIZE_ARRAY 1

/* ---- Doubly linked lists (LIST_ENTRY), as in wdm.h ---- */
typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

typedef struct _SINGLE_LIST_ENTRY {
    struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

static inline VOID InitializeListHead(PLIST_ENTRY Head) { Head->Flink = Head->Blink = Head; }
static inline BOOLEAN IsListEmpty(const LIST_ENTRY *Head) { return (BOOLEAN)(Head->Flink == Head); }
static inline BOOLEAN RemoveEntryList(PLIST_ENTRY Entry)
{
    PLIST_ENTRY f = Entry->Flink, b = Entry->Blink;
    b->Flink = f;
    f->Blink = b;
    return (BOOLEAN)(f == b);
}
static inline PLIST_ENTRY RemoveHeadList(PLIST_ENTRY Head)
{
    PLIST_ENTRY e = Head->Flink;
    RemoveEntryList(e);
    return e;
}
static inline PLIST_ENTRY RemoveTailList(PLIST_ENTRY Head)
{
    PLIST_ENTRY e = Head->Blink;
    RemoveEntryList(e);
    return e;
}
static inline VOID InsertTailList(PLIST_ENTRY Head, PLIST_ENTRY Entry)
{
    PLIST_ENTRY b = Head->Blink;
    Entry->Flink = Head;
    Entry->Blink = b;
    b->Flink = Entry;
    Head->Blink = Entry;
}
static inline VOID InsertHeadList(PLIST_ENTRY Head, PLIST_ENTRY Entry)
{
    PLIST_ENTRY f = Head->Flink;
    Entry->Flink = f;
    Entry->Blink = Head;
    f->Blink = Entry;
    Head->Flink = Entry;
}

/* ---- SAL annotations: accepted and ignored ---- */
#define IN
#define OUT
#define OPTIONAL
#define _In_
#define _In_opt_
#define _Out_
#define _Out_opt_
#define _Inout_
#define _Inout_opt_
#define _In_z_
#define _In_opt_z_
#define _Must_inspect_result_
#define _Success_(x)
#define _Check_return_
#define _Use_decl_annotations_
#define _IRQL_requires_(x)
#define _IRQL_requires_max_(x)
#define _IRQL_requires_min_(x)
#define _IRQL_requires_same_
#define _IRQL_raises_(x)
#define _IRQL_saves_
#define _IRQL_restores_
#define _IRQL_saves_global_(a, b)
#define _IRQL_restores_global_(a, b)
#define _Requires_lock_held_(x)
#define _Requires_lock_not_held_(x)
#define _Acquires_lock_(x)
#define _Releases_lock_(x)
#define _In_reads_(x)
#define _In_reads_opt_(x)
#define _In_reads_bytes_(x)
#define _In_reads_bytes_opt_(x)
#define _Out_writes_(x)
#define _Out_writes_opt_(x)
#define _Out_writes_bytes_(x)
#define _Out_writes_bytes_opt_(x)
#define _Out_writes_bytes_to_(x, y)
#define _Inout_updates_(x)
#define _Inout_updates_bytes_(x)
#define _Outptr_
#define _Outptr_opt_
#define _Outptr_result_maybenull_
#define _Outptr_result_bytebuffer_(x)
#define _Ret_maybenull_
#define _Post_writable_byte_size_(x)
#define _When_(a, b)
#define _Function_class_(x)
#define _Dispatch_type_(x)
#define _Kernel_float_saved_
#define _Frees_ptr_
#define _Frees_ptr_opt_
#define _Field_size_(x)
#define _Field_size_bytes_(x)
#define _Field_size_bytes_part_(x, y)
#define __drv_aliasesMem
#define __drv_allocatesMem(x)
#define __drv_freesMem(x)
#define __drv_maxIRQL(x)
#define __drv_requiresIRQL(x)
#define __drv_dispatchType(x)
#define __in
#define __out
#define __in_opt
#define __out_opt
#define __inout

#endif /* PNPKIT_NTDEF_H */

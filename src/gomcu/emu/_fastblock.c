/* _fastblock.c - the emulator's time base as a native unicorn block hook.
 *
 * Why: a Python UC_HOOK_BLOCK callback costs about a microsecond per translation block, which
 * caps the emulator near 7 M instructions/s.  This hook does the same bookkeeping in C: it adds
 * the number of instructions in each block to a 64-bit counter (so counting stays exact and
 * deterministic), stops the emulation when a deadline (the next SysTick/injection event or
 * the budget) has been reached, and, while an interrupt is pending but masked, watches
 * PRIMASK/BASEPRI/FAULTMASK so that `cpsie i` / `msr basepri` (which unicorn executes without
 * any notification) lead to the interrupt being taken.
 *
 * The module has no Python-visible behaviour beyond `callback_address()`: Python owns the
 * state (a ctypes Structure mirrored in gomcu/emu/native.py, passed as the hook's user data)
 * and fills in the unicorn entry points it needs (uc_emu_stop, uc_mem_read, uc_reg_read), so
 * the module does not link against libunicorn.  It does not use any unicorn header either:
 * the few prototypes are declared here.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef void uc_engine;
typedef int (*fn_emu_stop_t)(uc_engine *);
typedef int (*fn_mem_read_t)(uc_engine *, uint64_t, void *, uint64_t);
typedef int (*fn_reg_read_t)(uc_engine *, int, void *);

#define CACHE_BITS 16
#define CACHE_SIZE (1u << CACHE_BITS)

/* Keep in step with native.py (_State). */
typedef struct {
    uint64_t count;          /* instructions of all blocks entered so far */
    uint64_t deadline;       /* stop at the first block boundary where count >= deadline */
    uint64_t block_start;    /* count before the current block */
    uint32_t block_addr;     /* address of the current block */
    uint32_t block_insns;    /* instructions in the current block */
    uint32_t watch_mask;     /* nonzero: an exception is pending but masked; watch the masks */
    uint32_t pending_prio;   /* its group priority (0..255 scale, -1/-2 never masked here) */
    uint32_t prigroup_mask;  /* mask applied to BASEPRI/priorities for group priority */
    uint32_t stop_reason;    /* 1: deadline reached, 2: masks opened, 4: EXC_RETURN trap */
    uint32_t trap_low;       /* blocks at or above this address (EXC_RETURN trap page) are not counted */
    uint32_t reg_primask, reg_basepri, reg_faultmask; /* unicorn register ids */
    void *fn_emu_stop;
    void *fn_mem_read;
    void *fn_reg_read;
    uint64_t blocks;         /* blocks entered (statistics) */
    uint64_t misses;         /* cache misses (statistics) */
    void *cache;             /* CACHE_SIZE fb_entry slots owned by Python (one per machine) */
} fb_state;

typedef struct {
    uint32_t addr;
    uint32_t size;
    uint32_t insns;
} fb_entry;

static uint32_t count_thumb(uc_engine *uc, fb_state *st, uint64_t address, uint32_t size)
{
    uint8_t buf[4096];
    uint32_t n = 0, off = 0;
    if (size > sizeof(buf) || ((fn_mem_read_t)st->fn_mem_read)(uc, address, buf, size) != 0)
        return size / 2 ? size / 2 : 1;  /* cannot happen for mapped code; keep going */
    while (off < size) {
        uint16_t hw = (uint16_t)(buf[off] | (buf[off + 1] << 8));
        off += ((hw >> 11) >= 0x1D) ? 4 : 2;
        n++;
    }
    return n;
}

static void block_cb(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
    fb_state *st = (fb_state *)user;
    uint32_t a = (uint32_t)address, insns;
    fb_entry *e;
    if (a >= st->trap_low) {        /* EXC_RETURN trap page: never executed, never counted */
        st->stop_reason |= 4;
        ((fn_emu_stop_t)st->fn_emu_stop)(uc);
        return;
    }
    /* A stop requested here keeps this block from executing, so it is not counted. Python
     * requests a stop from other hooks by setting deadline to 0, never by calling
     * uc_emu_stop itself: that would let the next block be hooked (counted) but not run. */
    if (st->count >= st->deadline) {
        st->stop_reason |= 1;
        ((fn_emu_stop_t)st->fn_emu_stop)(uc);
        return;
    }
    if (st->watch_mask) {
        uint32_t primask = 0, basepri = 0, faultmask = 0;
        fn_reg_read_t rr = (fn_reg_read_t)st->fn_reg_read;
        int32_t prio = (int32_t)st->pending_prio;
        int masked = 0;
        rr(uc, (int)st->reg_primask, &primask);
        rr(uc, (int)st->reg_basepri, &basepri);
        rr(uc, (int)st->reg_faultmask, &faultmask);
        if ((faultmask & 1) && prio >= -1)
            masked = 1;
        else if ((primask & 1) && prio >= 0)
            masked = 1;
        else if ((basepri & 0xFF) && prio >= 0 && (uint32_t)prio >= ((basepri & 0xFF) & st->prigroup_mask))
            masked = 1;
        if (!masked) {
            st->stop_reason |= 2;
            st->watch_mask = 0;
            ((fn_emu_stop_t)st->fn_emu_stop)(uc);
            return;
        }
    }
    e = &((fb_entry *)st->cache)[(a >> 1) & (CACHE_SIZE - 1)];
    if (e->addr == a && e->size == size && e->insns) {
        insns = e->insns;
    } else {
        insns = count_thumb(uc, st, address, size);
        e->addr = a;
        e->size = size;
        e->insns = insns;
        st->misses++;
    }
    st->blocks++;
    st->block_start = st->count;
    st->block_addr = a;
    st->block_insns = insns;
    st->count += insns;
}

static PyObject *callback_address(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromVoidPtr((void *)&block_cb);
}

static PyObject *cache_bytes(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromSize_t(sizeof(fb_entry) * CACHE_SIZE);
}

static PyObject *state_size(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromSize_t(sizeof(fb_state));
}

static PyMethodDef methods[] = {
    {"callback_address", callback_address, METH_NOARGS, "Address of the native UC_HOOK_BLOCK callback."},
    {"cache_bytes", cache_bytes, METH_NOARGS, "Bytes the per-machine block cache needs."},
    {"state_size", state_size, METH_NOARGS, "sizeof(fb_state), to check the ctypes mirror."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_fastblock", "Native block hook: exact instruction counting and event deadlines.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastblock(void)
{
    return PyModule_Create(&moduledef);
}

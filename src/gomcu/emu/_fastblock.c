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
#include <stdlib.h>
#include <string.h>

typedef void uc_engine;
typedef int (*fn_emu_stop_t)(uc_engine *);
typedef int (*fn_mem_read_t)(uc_engine *, uint64_t, void *, uint64_t);
typedef int (*fn_reg_read_t)(uc_engine *, int, void *);
typedef int (*fn_mem_write_t)(uc_engine *, uint64_t, const void *, uint64_t);
typedef int (*fn_hook_add_t)(uc_engine *, size_t *, int, void *, void *, uint64_t, uint64_t, ...);
typedef int (*fn_ctl_t)(uc_engine *, uint32_t, ...);
#define UC_HOOK_CODE_ 4

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
    /* probes (see the second half of this file) */
    uint64_t extra;          /* Machine.extra, written by Python before each emu_start */
    uint64_t exc_insns;      /* Machine.exc_insns, likewise */
    void *uc;                /* the engine, for calls made outside a hook */
    void *fn_mem_write;
    void *fn_hook_add;
    void *fn_ctl;
    uint32_t ctl_remove_cache; /* encoded uc_ctl code for UC_CTL_TB_REMOVE_CACHE, write, 2 args */
    uint32_t reg_r0, reg_sp, reg_lr, reg_ipsr;
    uint32_t pad0;
    void *probes;            /* fb_probes, allocated by init_probes(), freed by release() */
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

/* ---------------------------------------------------------------------------------------
 * Probes in C.
 *
 * Why: a probed allocator is called every ~900 instructions; a Python code hook per entry and
 * per return (with unicorn register reads through ctypes) cost ~50 us a call and capped a
 * probed run near 18 M instructions/s.  Here the same bookkeeping as the pure-Python probes in
 * machine.py is done natively: entry hooks at the probed functions open frames (return address
 * from LR, SP at entry, instruction count at entry), return hooks (added on first use at each
 * return address) close the frames whose return address and SP match, in reverse order of
 * opening.  Function and allocation calls become records that Python drains after each
 * emu_start; stack probes paint and measure stacks here, since that must happen at the instant
 * of the call.  Semantics are those of machine.py's Python probes, step by step; keep them in
 * step (tests/test_emu.py compares the two on the reference firmware).
 * ------------------------------------------------------------------------------------- */
enum { K_FUNC = 1, K_ALLOC = 2, K_CREATE = 3, K_SALLOC = 4, K_RESTART = 5 };
/* Where an allocation site reads its size (at entry) and result (at the return): a unicorn
 * register id, or with LOC_STACK the word at the call's entry SP plus the low 16 bits (Go's
 * ABI0 passes mallocgc's arguments and result on the stack). native.py loc_code() encodes it. */
#define LOC_STACK 0x80000000u
enum { S_MSP = 0, S_RUNTIME = 1 };

/* aux: K_FUNC/K_CREATE/K_SALLOC the probe's index; K_RESTART the register (a loc) holding the
 * abandoned call's return address. size_loc/result_loc: K_ALLOC only. */
typedef struct { uint32_t addr, kind, aux, flags, size_loc, result_loc; } fb_site;
typedef struct {
    uint32_t ret, sp, kind, aux, flags, r0, ipsr, data; /* r0: the size (ALLOC, SALLOC); data: creating
                                                         * (SALLOC), first stack (CREATE), result_loc (ALLOC) */
    uint64_t insns, cycles, exc_insns;
} fb_frame;
typedef struct {
    uint32_t kind, aux, caller, size, result, ipsr;
    uint64_t insns, end_insns, cycles, end_cycles, exc_insns, end_exc_insns;
} fb_record;
typedef struct {
    uint64_t bottom, top, skip, used, created;
    uint32_t paint, kind, aux, closed, entry; /* entry: the create call's first argument */
    uint32_t batch;     /* which create call made it (1, 2, ...) */
    uint32_t frame[16]; /* the top 64 bytes when the create call returned (its initial frame) */
} fb_stack;
typedef struct {
    fb_site *sites; size_t nsites, capsites;
    fb_frame *frames; size_t nframes, capframes;
    fb_record *recs; size_t nrecs, caprecs;
    fb_stack *stacks; size_t nstacks, capstacks;
    uint32_t *hooked; size_t nhooked, caphooked;
    uint8_t *scratch; size_t capscratch;
    int64_t creating;
    uint32_t create_arg; /* first argument (r0) of the innermost open create call */
    uint32_t creates;    /* create calls so far */
    int error;
} fb_probes;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n;
    void *q;
    if (need <= *cap)
        return 1;
    n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = n;
    return 1;
}

static void probe_fail(fb_state *st, fb_probes *pr)
{
    pr->error = 1;
    st->deadline = 0; /* stop at the next block; Python raises */
}

static uint32_t reg32(uc_engine *uc, fb_state *st, uint32_t reg)
{
    uint32_t v = 0;
    ((fn_reg_read_t)st->fn_reg_read)(uc, (int)reg, &v);
    return v;
}

static uint32_t le32(const uint8_t *b) { return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24); }

/* Guest memory into the scratch buffer; NULL when unreadable or out of memory. */
static uint8_t *read_mem(uc_engine *uc, fb_state *st, fb_probes *pr, uint64_t addr, uint64_t len)
{
    if (!grow((void **)&pr->scratch, &pr->capscratch, len ? (size_t)len : 1, 1)) {
        probe_fail(st, pr);
        return NULL;
    }
    if (len && ((fn_mem_read_t)st->fn_mem_read)(uc, addr, pr->scratch, len) != 0)
        return NULL;
    return pr->scratch;
}

/* machine.py _at: the word a location names (0 when unreadable). */
static uint32_t at_loc(uc_engine *uc, fb_state *st, uint32_t loc, uint32_t sp)
{
    uint8_t b[4];
    if (!(loc & LOC_STACK))
        return reg32(uc, st, loc);
    if (((fn_mem_read_t)st->fn_mem_read)(uc, (uint64_t)sp + (loc & 0xFFFFu), b, 4) != 0)
        return 0;
    return le32(b);
}

/* machine.py _insns_at: instructions executed before `pc` in the running block. */
static uint64_t insns_at(uc_engine *uc, fb_state *st, uint32_t pc)
{
    uint32_t a = st->block_addr;
    if (a == pc)
        return st->block_start;
    if (a < pc && (uint64_t)pc < (uint64_t)a + 4ull * st->block_insns)
        return st->block_start + count_thumb(uc, st, a, pc - a);
    return st->count;
}

/* machine.py _measure: raise `used` to the deepest word that no longer holds the paint. */
static void measure(uc_engine *uc, fb_state *st, fb_probes *pr, fb_stack *s)
{
    uint64_t lo, hi, len, n, a = 0, u;
    uint8_t *d;
    if (s->closed)
        return;
    lo = s->bottom + s->skip;
    hi = s->top - s->used;
    if (hi <= lo)
        return;
    len = hi - lo;
    d = read_mem(uc, st, pr, lo, len);
    if (!d)
        return;
    n = len / 4;
    while (a < n && le32(d + 4 * a) == s->paint)
        a++;
    if (a == n && len % 4 == 0)
        return;
    u = s->top - (lo + a * 4);
    if (u > s->used)
        s->used = u;
}

static void ret_cb(uc_engine *uc, uint64_t address, uint32_t size, void *user);

static fb_frame *open_frame(uc_engine *uc, fb_state *st, fb_probes *pr, const fb_site *site, uint32_t pc)
{
    fb_frame *f;
    size_t i;
    uint32_t ret = reg32(uc, st, st->reg_lr) & ~1u;
    if (!grow((void **)&pr->frames, &pr->capframes, pr->nframes + 1, sizeof(fb_frame))) {
        probe_fail(st, pr);
        return NULL;
    }
    f = &pr->frames[pr->nframes++];
    memset(f, 0, sizeof(*f));
    f->ret = ret;
    f->sp = reg32(uc, st, st->reg_sp);
    f->kind = site->kind;
    f->aux = site->aux;
    f->flags = site->flags;
    f->insns = insns_at(uc, st, pc);
    f->cycles = f->insns + st->extra;
    f->exc_insns = st->exc_insns;
    if (ret >= st->trap_low)
        return f;
    for (i = 0; i < pr->nhooked; i++)
        if (pr->hooked[i] == ret)
            return f;
    if (!grow((void **)&pr->hooked, &pr->caphooked, pr->nhooked + 1, sizeof(uint32_t))) {
        probe_fail(st, pr);
        return f;
    }
    {
        size_t h = 0;
        if (((fn_hook_add_t)st->fn_hook_add)(uc, &h, UC_HOOK_CODE_, (void *)&ret_cb, st, (uint64_t)ret, (uint64_t)ret) != 0) {
            probe_fail(st, pr);
            return f;
        }
        ((fn_ctl_t)st->fn_ctl)(uc, st->ctl_remove_cache, (uint64_t)ret, (uint64_t)ret + 2);
    }
    pr->hooked[pr->nhooked++] = ret;
    return f;
}

static void entry_cb(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
    fb_state *st = (fb_state *)user;
    fb_probes *pr = (fb_probes *)st->probes;
    uint32_t pc = (uint32_t)address;
    size_t i, j;
    fb_frame *f;
    (void)size;
    for (i = 0; i < pr->nsites; i++) {
        fb_site site = pr->sites[i];
        if (site.addr != pc)
            continue;
        switch (site.kind) {
        case K_FUNC:
            open_frame(uc, st, pr, &site, pc);
            break;
        case K_ALLOC: {
            uint32_t size = at_loc(uc, st, site.size_loc, reg32(uc, st, st->reg_sp));
            uint32_t ipsr = reg32(uc, st, st->reg_ipsr) & 0x1FF;
            f = open_frame(uc, st, pr, &site, pc);
            if (f) {
                f->r0 = size;
                f->ipsr = ipsr;
                f->data = site.result_loc;
            }
            break;
        }
        case K_RESTART: { /* machine.py _alloc_restart: the call will be entered again from the top */
            uint32_t ret = at_loc(uc, st, site.aux, 0) & ~1u, sp = reg32(uc, st, st->reg_sp);
            size_t k = 0;
            for (j = 0; j < pr->nframes; j++)
                if (!(pr->frames[j].kind == K_ALLOC && pr->frames[j].ret == ret && pr->frames[j].sp == sp))
                    pr->frames[k++] = pr->frames[j];
            pr->nframes = k;
            break;
        }
        case K_CREATE:
            pr->creating++;
            pr->create_arg = reg32(uc, st, st->reg_r0);
            pr->creates++;
            f = open_frame(uc, st, pr, &site, pc);
            if (f)
                f->data = (uint32_t)pr->nstacks;
            break;
        case K_SALLOC: {
            uint32_t r0;
            for (j = 0; j < pr->nstacks; j++) /* the allocator may reuse a dead stack */
                measure(uc, st, pr, &pr->stacks[j]);
            r0 = reg32(uc, st, st->reg_r0);
            f = open_frame(uc, st, pr, &site, pc);
            if (f) {
                f->r0 = r0;
                f->data = pr->creating > 0;
            }
            break;
        }
        }
    }
}

static void add_record(fb_state *st, fb_probes *pr, const fb_frame *f, uint64_t end, uint32_t result)
{
    fb_record *r;
    if (!grow((void **)&pr->recs, &pr->caprecs, pr->nrecs + 1, sizeof(fb_record))) {
        probe_fail(st, pr);
        return;
    }
    r = &pr->recs[pr->nrecs++];
    r->kind = f->kind;
    r->aux = f->aux;
    r->caller = f->ret;
    r->size = f->r0;
    r->result = result;
    r->ipsr = f->ipsr;
    r->insns = f->insns;
    r->end_insns = end;
    r->cycles = f->cycles;
    r->end_cycles = end + st->extra;
    r->exc_insns = f->exc_insns;
    r->end_exc_insns = st->exc_insns;
}

static void on_return(uc_engine *uc, fb_state *st, fb_probes *pr, const fb_frame *f, uint64_t end)
{
    size_t j, k;
    switch (f->kind) {
    case K_FUNC:
        add_record(st, pr, f, end, 0);
        break;
    case K_ALLOC:
        add_record(st, pr, f, end, at_loc(uc, st, f->data, f->sp));
        break;
    case K_CREATE:
        pr->creating--;
        for (j = f->data; j < pr->nstacks; j++) {
            fb_stack *s = &pr->stacks[j];
            uint64_t len = s->top - s->bottom, skip = 0;
            uint8_t *d;
            if (s->kind != S_RUNTIME || s->skip)
                continue;
            d = read_mem(uc, st, pr, s->bottom, len);
            if (!d)
                continue;
            while (skip + 4 <= len && le32(d + skip) != s->paint)
                skip += 4;
            s->skip = skip;
            for (k = 0; k < 16 && 4 * (k + 1) <= len; k++) /* the initial frame, lowest word first */
                s->frame[k] = le32(d + len - (len < 64 ? len : 64) + 4 * k);
        }
        break;
    case K_SALLOC: {
        uint32_t result = reg32(uc, st, st->reg_r0), size = f->r0, words, paint = 0xC5A5C5A5u, i;
        uint64_t bytes;
        uint8_t *d;
        fb_stack *s;
        for (j = 0; j < pr->nstacks; j++) {
            s = &pr->stacks[j];
            if (s->kind == S_RUNTIME && !s->closed && (uint64_t)result < s->top && s->bottom < (uint64_t)result + size) {
                measure(uc, st, pr, s);
                s->closed = 1;
            }
        }
        if (!f->data || !result || size < 8)
            break;
        words = size / 4;
        bytes = (uint64_t)words * 4;
        d = read_mem(uc, st, pr, result, bytes);
        if (f->flags & 1) { /* zero_paint: a zeroed block counts as painted with zeros */
            int zero = d != NULL;
            for (i = 0; zero && i < bytes; i++)
                zero = d[i] == 0;
            if (zero)
                paint = 0;
        }
        if (paint) {
            if (!grow((void **)&pr->scratch, &pr->capscratch, (size_t)bytes, 1)) {
                probe_fail(st, pr);
                break;
            }
            for (i = 0; i < words; i++)
                memcpy(pr->scratch + 4 * i, "\xa5\xc5\xa5\xc5", 4);
            ((fn_mem_write_t)st->fn_mem_write)(uc, result, pr->scratch, bytes);
        }
        if (!grow((void **)&pr->stacks, &pr->capstacks, pr->nstacks + 1, sizeof(fb_stack))) {
            probe_fail(st, pr);
            break;
        }
        s = &pr->stacks[pr->nstacks++];
        memset(s, 0, sizeof(*s));
        s->bottom = result;
        s->top = (uint64_t)result + bytes;
        s->created = st->count + st->extra;
        s->paint = paint;
        s->kind = S_RUNTIME;
        s->aux = f->aux;
        s->entry = pr->create_arg;
        s->batch = pr->creates;
        break;
    }
    }
}

static void ret_cb(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
    fb_state *st = (fb_state *)user;
    fb_probes *pr = (fb_probes *)st->probes;
    uint32_t a = (uint32_t)address, sp;
    fb_frame local[8], *done = local;
    size_t i, k = 0, nd = 0;
    uint64_t end;
    (void)size;
    sp = reg32(uc, st, st->reg_sp);
    for (i = 0; i < pr->nframes; i++)
        if (pr->frames[i].ret == a && pr->frames[i].sp == sp)
            nd++;
    if (!nd)
        return;
    if (nd > 8 && !(done = (fb_frame *)malloc(nd * sizeof(fb_frame)))) {
        probe_fail(st, pr);
        return;
    }
    nd = 0;
    for (i = 0; i < pr->nframes; i++) {
        if (pr->frames[i].ret == a && pr->frames[i].sp == sp)
            done[nd++] = pr->frames[i];
        else
            pr->frames[k++] = pr->frames[i];
    }
    pr->nframes = k;
    end = insns_at(uc, st, a);
    while (nd--)
        on_return(uc, st, pr, &done[nd], end);
    if (done != local)
        free(done);
}

static fb_state *state_arg(PyObject *arg)
{
    fb_state *st = (fb_state *)PyLong_AsVoidPtr(arg);
    if (!st && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "null state");
    return st;
}

static PyObject *init_probes(PyObject *self, PyObject *arg)
{
    fb_state *st = state_arg(arg);
    (void)self;
    if (!st)
        return NULL;
    if (!st->probes && !(st->probes = calloc(1, sizeof(fb_probes))))
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *release(PyObject *self, PyObject *arg)
{
    fb_state *st = state_arg(arg);
    fb_probes *pr;
    (void)self;
    if (!st)
        return NULL;
    pr = (fb_probes *)st->probes;
    if (pr) {
        free(pr->sites); free(pr->frames); free(pr->recs); free(pr->stacks); free(pr->hooked); free(pr->scratch);
        free(pr);
        st->probes = NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *add_site(PyObject *self, PyObject *args)
{
    PyObject *sa;
    unsigned int addr, kind, aux, flags, size_loc, result_loc;
    fb_state *st;
    fb_probes *pr;
    (void)self;
    if (!PyArg_ParseTuple(args, "OIIIIII", &sa, &addr, &kind, &aux, &flags, &size_loc, &result_loc) ||
        !(st = state_arg(sa)))
        return NULL;
    pr = (fb_probes *)st->probes;
    if (!grow((void **)&pr->sites, &pr->capsites, pr->nsites + 1, sizeof(fb_site)))
        return PyErr_NoMemory();
    pr->sites[pr->nsites].addr = addr;
    pr->sites[pr->nsites].kind = kind;
    pr->sites[pr->nsites].aux = aux;
    pr->sites[pr->nsites].flags = flags;
    pr->sites[pr->nsites].size_loc = size_loc;
    pr->sites[pr->nsites].result_loc = result_loc;
    pr->nsites++;
    Py_RETURN_NONE;
}

static PyObject *add_stack(PyObject *self, PyObject *args)
{
    PyObject *sa;
    unsigned long long bottom, top, created;
    unsigned int paint, kind, aux;
    fb_state *st;
    fb_probes *pr;
    fb_stack *s;
    (void)self;
    if (!PyArg_ParseTuple(args, "OKKKIII", &sa, &bottom, &top, &created, &paint, &kind, &aux) || !(st = state_arg(sa)))
        return NULL;
    pr = (fb_probes *)st->probes;
    if (!grow((void **)&pr->stacks, &pr->capstacks, pr->nstacks + 1, sizeof(fb_stack)))
        return PyErr_NoMemory();
    s = &pr->stacks[pr->nstacks++];
    memset(s, 0, sizeof(*s));
    s->bottom = bottom;
    s->top = top;
    s->created = created;
    s->paint = paint;
    s->kind = kind;
    s->aux = aux;
    Py_RETURN_NONE;
}

/* Measure every stack now (the end of a run); needs st->uc. */
static PyObject *measure_all(PyObject *self, PyObject *arg)
{
    fb_state *st = state_arg(arg);
    fb_probes *pr;
    size_t i;
    (void)self;
    if (!st)
        return NULL;
    pr = (fb_probes *)st->probes;
    for (i = 0; i < pr->nstacks; i++)
        measure(st->uc, st, pr, &pr->stacks[i]);
    Py_RETURN_NONE;
}

static PyObject *stacks(PyObject *self, PyObject *arg)
{
    fb_state *st = state_arg(arg);
    fb_probes *pr;
    PyObject *list;
    size_t i;
    (void)self;
    if (!st)
        return NULL;
    pr = (fb_probes *)st->probes;
    if (!(list = PyList_New((Py_ssize_t)pr->nstacks)))
        return NULL;
    for (i = 0; i < pr->nstacks; i++) {
        fb_stack *s = &pr->stacks[i];
        PyObject *t = Py_BuildValue("(KKKKKIIIIIIy#)", (unsigned long long)s->bottom, (unsigned long long)s->top,
                                    (unsigned long long)s->skip, (unsigned long long)s->used,
                                    (unsigned long long)s->created, s->paint, s->kind, s->aux, s->closed,
                                    s->entry, s->batch, (const char *)s->frame, (Py_ssize_t)sizeof(s->frame));
        if (!t) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

/* Completed calls since the last drain, oldest first; clears the buffer. */
static PyObject *take_records(PyObject *self, PyObject *arg)
{
    fb_state *st = state_arg(arg);
    fb_probes *pr;
    PyObject *list;
    size_t i;
    (void)self;
    if (!st)
        return NULL;
    pr = (fb_probes *)st->probes;
    if (pr->error) {
        pr->error = 0;
        return PyErr_NoMemory();
    }
    if (!(list = PyList_New((Py_ssize_t)pr->nrecs)))
        return NULL;
    for (i = 0; i < pr->nrecs; i++) {
        fb_record *r = &pr->recs[i];
        PyObject *t = Py_BuildValue("(IIIIIIKKKKKK)", r->kind, r->aux, r->caller, r->size, r->result, r->ipsr,
                                    (unsigned long long)r->insns, (unsigned long long)r->end_insns,
                                    (unsigned long long)r->cycles, (unsigned long long)r->end_cycles,
                                    (unsigned long long)r->exc_insns, (unsigned long long)r->end_exc_insns);
        if (!t) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    pr->nrecs = 0;
    return list;
}

/* (kind, aux) of every call still open. */
static PyObject *open_frames(PyObject *self, PyObject *arg)
{
    fb_state *st = state_arg(arg);
    fb_probes *pr;
    PyObject *list;
    size_t i;
    (void)self;
    if (!st)
        return NULL;
    pr = (fb_probes *)st->probes;
    if (!(list = PyList_New((Py_ssize_t)pr->nframes)))
        return NULL;
    for (i = 0; i < pr->nframes; i++) {
        PyObject *t = Py_BuildValue("(II)", pr->frames[i].kind, pr->frames[i].aux);
        if (!t) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

static PyObject *entry_callback_address(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromVoidPtr((void *)&entry_cb);
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
    {"entry_callback_address", entry_callback_address, METH_NOARGS, "Address of the native probe entry UC_HOOK_CODE callback."},
    {"init_probes", init_probes, METH_O, "Allocate the probe tables of a state."},
    {"release", release, METH_O, "Free the probe tables of a state."},
    {"add_site", add_site, METH_VARARGS,
     "add_site(state, addr, kind, aux, flags, size_loc, result_loc): a probed entry address."},
    {"add_stack", add_stack, METH_VARARGS, "add_stack(state, bottom, top, created, paint, kind, aux)."},
    {"measure_all", measure_all, METH_O, "Measure the high-water of every stack now."},
    {"stacks", stacks, METH_O, "[(bottom, top, skip, used, created, paint, kind, aux, closed)]"},
    {"take_records", take_records, METH_O, "Completed probed calls since the last call (and clear them)."},
    {"open_frames", open_frames, METH_O, "[(kind, aux)] of probed calls still open."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_fastblock", "Native block hook: exact instruction counting and event deadlines.",
    -1, methods, NULL, NULL, NULL, NULL,
};

/* Bumped when what the module returns changes shape (native.py refuses another version, so a
 * checkout with an old build falls back to the Python path instead of misreading it). */
#define FASTBLOCK_ABI 3

PyMODINIT_FUNC PyInit__fastblock(void)
{
    PyObject *m = PyModule_Create(&moduledef);
    if (m && PyModule_AddIntConstant(m, "ABI", FASTBLOCK_ABI) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

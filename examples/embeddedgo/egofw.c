/* Reference firmware with the shape of an Embedded Go (GOOS=noos GOARCH=thumb) build, in C.
 * Functions carry C names here; the Makefile renames them to the runtime's Go names
 * (names.txt) and strips the $t/$d mapping symbols, which Go's linker never writes.
 * Every figure the tests check can be read off this file and egofw.S. */
#include <stdint.h>

/* egofw-roots.elf (-DGO_ROOTS): the DWARF lines place the runtime and the standard library under
 * a Go root (/opt/ego/go/src/PACKAGE/) and the user's handlers and main package in their own
 * module, as a real build's do; egofw.elf keeps this file's own name and lines. */
#ifdef GO_ROOTS
#line 10 "/opt/ego/go/src/runtime/egofw.go"
#endif

#define ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSVSET (1u << 28)

struct note { volatile uint32_t key; };

extern void rt_morestack_noctxt(void);
extern int64_t rt_nanotime(void);            /* fast system call (SVC 0) */
extern void rt_futexsleep(volatile uint32_t *addr, uint32_t val); /* slow system call (SVC 9) */
extern void rt_futexwakeup(volatile uint32_t *addr, uint32_t cnt); /* slow system call (SVC 10) */
extern void main_work(void);                 /* Go-shaped function with a morestack prologue */
extern void main_table(void);                /* Go-shaped function with a 380 B frame */

static uint8_t heap[4096];
static uint32_t heap_used;
static const uint32_t tim2_type = 16;
volatile uint32_t rt_mallocs;
struct note main_note;
volatile uint32_t main_ticks;

static inline uint32_t ipsr(void) {
	uint32_t v;
	__asm__ volatile("mrs %0, ipsr" : "=r"(v));
	return v;
}

__attribute__((noinline, noreturn)) void rt_throw(const char *msg) {
	(void)msg;
	for (;;) __asm__ volatile("bkpt #0");
}

/* runtime.goPanicIndex: boxes the error (an allocation) and prints it through an interface
 * method (an indirect call) on the way down; runtime.panicIndex, the compiler's bounds-check
 * entry, calls it. Neither returns. */
static const uint32_t boundserr_type = 8;
void (*volatile rt_printer)(void *);
/* runtime.newobject(typ) takes its argument the way Go's ABI0 does, on the stack above the LR
 * slot ([sp+4] at the call): in C, the sixth argument of a six-argument call. */
__attribute__((noinline, noipa)) void *rt_newobject(uint32_t r0, uint32_t r1, uint32_t r2, uint32_t r3,
                                             uint32_t lr_slot, const void *type);
#define NEWOBJECT(type) rt_newobject(0, 0, 0, 0, 0, (type))
__attribute__((noinline, noreturn)) void rt_gopanicindex(void) {
	void *e = NEWOBJECT(&boundserr_type);
	rt_printer(e);
	rt_throw("index out of range");
}
__attribute__((noinline, noreturn)) void rt_panicindex(void) { rt_gopanicindex(); }

/* The collector: gcStart stops the world, gcDrain marks, scanobject scans one object. */
volatile uint32_t rt_marked;
__attribute__((noinline)) void rt_scanobject(uint32_t *obj) { rt_marked += obj[0] != 0; }
__attribute__((noinline)) void rt_gcDrain(void) {
	for (uint32_t at = 0; at < heap_used; at += 16)
		rt_scanobject((uint32_t *)&heap[at]);
}
__attribute__((noinline)) void rt_gcStart(void) {
	rt_gcDrain();
	heap_used = 0;
}

/* runtime.mallocgc: the allocator every allocation enters ("malloc during signal" in a handler). */
__attribute__((noinline)) void *rt_mallocgc(uint32_t size, const void *type, int zero) {
	volatile uint32_t scratch[6];                 /* 24 B of locals (its frame: egofw.su) */
	if (ipsr() != 0)
		rt_throw("malloc during signal");
	uint32_t at = (heap_used + 7u) & ~7u;
	if (at + size > sizeof heap) {
		rt_gcStart();
		at = 0;
	}
	heap_used = at + size;
	scratch[0] = (uint32_t)type;
	scratch[5] = size;
	rt_mallocs++;
	uint8_t *p = &heap[at];
	if (zero)
		for (uint32_t i = 0; i < size; i++) p[i] = 0;
	return (void *)((uintptr_t)p + scratch[0] - (uint32_t)type + scratch[5] - size);
}

__attribute__((noinline, noipa)) void *rt_newobject(uint32_t r0, uint32_t r1, uint32_t r2, uint32_t r3,
                                             uint32_t lr_slot, const void *type) {
	(void)r0, (void)r1, (void)r2, (void)r3, (void)lr_slot;
	return rt_mallocgc(16, type, 1);
}

__attribute__((noinline)) void *rt_growslice(void *old, uint32_t n) {
	void *p = rt_mallocgc(n * 8u, 0, 1);
	if (old)
		*(uint32_t *)p = *(uint32_t *)old;
	return p;
}

/* runtime.newstack: called by morestack on the old stack's g0; copies the goroutine's stack to
 * one twice as large on the heap. copystack is Go code, so it has a morestack prologue too. */
__attribute__((noinline)) void rt_copystack(uint32_t newsize) {
	rt_morestack_noctxt();
	(void)rt_mallocgc(newsize, 0, 0);
}

__attribute__((noinline)) void rt_newstack(void) { rt_copystack(2048); }

/* runtime.notewakeup: marks the note; rtos.(*Note).Wakeup is allowed in handlers, although its
 * thread path makes a slow system call. */
__attribute__((noinline)) void rt_notewakeup(struct note *n) {
	n->key = 1;
	if (ipsr() == 0)
		rt_futexwakeup(&n->key, 1);   /* a thread wakes the sleeper through the tasker (slow call) */
	else
		ICSR = ICSR_PENDSVSET;        /* a handler only pends PendSV */
}

__attribute__((noinline)) void rtos_note_wakeup(struct note *n) { rt_notewakeup(n); }

/* rtos.(*Note).Sleep: a thread waits on the futex (a slow system call). */
__attribute__((noinline)) void rtos_note_sleep(struct note *n) {
	while (!n->key)
		rt_futexsleep(&n->key, 0);
	n->key = 0;
}

/* runtime.printpanics: recursion inside the runtime (each panic prints the one before). */
struct panicrec { struct panicrec *link; uint32_t arg; };
volatile uint32_t rt_printed;
__attribute__((noinline)) void rt_printpanics(struct panicrec *p) {
	if (p->link)
		rt_printpanics(p->link);
	rt_printed = p->arg;
}

#ifdef GO_ROOTS
#line 500 "/home/u/app/depth.go"
#endif
/* main.depth: the user's recursion. */
__attribute__((noinline)) uint32_t main_depth(uint32_t n) {
	volatile uint32_t pad[2];
	pad[0] = n;
	pad[1] = n ? main_depth(n - 1) : 0;
	return pad[0] + pad[1];
}

#ifdef GO_ROOTS
#line 1000 "/home/u/app/main.go"
#endif
/* //go:interrupthandler bound to IRQ6_Handler (EXTI0): only wakes the note and reads the time
 * and a table entry (main.lineOf: a Go function, so a morestack prologue and a bounds check). */
extern uint32_t main_lineof(uint32_t n);
void irq_exti0(void) {
	main_ticks = (uint32_t)rt_nanotime() + main_lineof(3);
	rtos_note_wakeup(&main_note);
}

/* //go:interrupthandler bound to IRQ28_Handler (TIM2): allocates -> "malloc during signal". */
static void *last;
void irq_tim2(void) { last = NEWOBJECT(&tim2_type); }

/* //go:interrupthandler bound to IRQ23_Handler (EXTI9_5), enabled at rtos.IntPrioHigh (0x20):
 * above rtos.IntPrioSysCall (0x80), so its nanotime system call (SVC 0) escalates to HardFault. */
void irq_exti9_5(void) { main_ticks = (uint32_t)rt_nanotime(); }

#ifdef GO_ROOTS
#line 2000 "/opt/ego/go/src/runtime/tasker.go"
#endif
/* runtime.taskerinit: SVCall at 4<<5 (rtos.IntPrioSysCall's byte) and PendSV at 255, the lowest,
 * with SCB StoreBits (a read-modify-write of SHPR2 and SHPR3). */
#define SHPR2 (*(volatile uint32_t *)0xE000ED1Cu)
#define SHPR3 (*(volatile uint32_t *)0xE000ED20u)
__attribute__((noinline)) void rt_taskerinit(void) {
	SHPR2 = (SHPR2 & ~(0xFFu << 24)) | ((4u << 5) << 24);
	SHPR3 = (SHPR3 & ~(0xFFu << 16)) | (255u << 16);
}

#ifdef GO_ROOTS
#line 3000 "/home/u/app/main.go"
#endif
/* A goroutine: waits for the note, then works (main.work grows its stack when it must). */
void main_blinky(void) {
	for (;;) {
		rtos_note_sleep(&main_note);
		main_work();
	}
}

extern void main_enable_irqs(void);          /* Go ABI0 calls of irqctl: see egofw.S */

/* Go's newproc(fn *funcval): `go f()` passes a static closure whose first word is the function. */
struct funcval { void (*fn)(void); };
extern void rt_newproc(const struct funcval *fv);
static const struct funcval blinky_fv = { main_blinky };

/* A goroutine with a 1.5 KiB buffer on its stack: with the guard and the system area it no longer
 * fits the 2048 B a goroutine starts with, so newstack grows it to 4096 B (egofw.su: its frame). */
volatile uint32_t main_logged;
void main_logger(void) {
	volatile uint8_t line[1536];
	for (uint32_t i = 0; i < sizeof line; i++)
		line[i] = (uint8_t)i;
	main_logged = line[main_logged & 1023];
}
static const struct funcval logger_fv = { main_logger };
static struct panicrec root_panic;

void main_main(void) {
	rt_taskerinit();
	main_enable_irqs();
	void *s = 0;
	for (uint32_t i = 1; i <= 4; i++)
		s = rt_growslice(s, i);
	rt_newproc(&blinky_fv);
	rt_newproc(&logger_fv);
	main_table();
	if (main_depth(3) == 0)
		rt_printpanics(&root_panic);
	for (;;)
		rtos_note_sleep(&main_note);
}

#ifdef GO_ROOTS
#line 4000 "/opt/ego/go/src/sync/egofw.go"
#endif
/* sync.init: a package initialiser that allocates in a loop; runtime.doInit1 calls it through
 * the inittasks table (an indirect call), once, before main.main. */
volatile uint32_t sync_pools = 3;
void sync_init(void) {
	for (uint32_t i = 0; i < sync_pools; i++)
		last = NEWOBJECT(&tim2_type);
}
void (*volatile rt_inittasks[1])(void) = { sync_init };
__attribute__((noinline)) void rt_doinit1(void) {
	for (uint32_t i = 0; i < sizeof rt_inittasks / sizeof rt_inittasks[0]; i++)
		rt_inittasks[i]();
}

/* runtime.gcenable: the runtime's own allocations in a loop (its background workers' state). */
volatile uint32_t rt_workers = 2;
__attribute__((noinline)) void rt_gcenable(void) {
	for (uint32_t i = 0; i < rt_workers; i++)
		last = NEWOBJECT(&tim2_type);
}

/* runtime.main: the main goroutine, started by rt0 through runtime.mainPC (a funcval). */
void rt_main(void) {
	rt_gcenable();
	rt_doinit1();
	main_main();
}

/* runtime.schedinit: on the ISR stack, before rt0_go leaves it (a 16 B frame: egofw.su). */
volatile uint32_t rt_procs;
__attribute__((noinline)) void rt_schedinit(void) {
	volatile uint32_t ncpu[2];
	ncpu[0] = 1;
	ncpu[1] = rt_procs;
	rt_procs = ncpu[0] + ncpu[1];
}

/* runtime.mstart: the scheduler on m0.g0's stack; here it runs the main goroutine's body. */
__attribute__((noinline)) void rt_mstart(void) { rt_main(); }

/* Reference firmware with the shape of an Embedded Go (GOOS=noos GOARCH=thumb) build, in C.
 * Functions carry C names here; the Makefile renames them to the runtime's Go names
 * (names.txt) and strips the $t/$d mapping symbols, which Go's linker never writes.
 * Every figure the tests check can be read off this file and egofw.S. */
#include <stdint.h>

#define ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSVSET (1u << 28)

struct note { volatile uint32_t key; };

extern void rt_morestack_noctxt(void);
extern int64_t rt_nanotime(void);            /* fast system call (SVC 0) */
extern void rt_futexsleep(volatile uint32_t *addr, uint32_t val); /* slow system call (SVC 9) */
extern void rt_futexwakeup(volatile uint32_t *addr, uint32_t cnt); /* slow system call (SVC 10) */
extern void main_work(void);                 /* Go-shaped function with a morestack prologue */

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
	volatile uint32_t scratch[6];                 /* 24 B of locals: the frame is 32 B */
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

__attribute__((noinline)) void *rt_newobject(const void *type) { return rt_mallocgc(16, type, 1); }

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

/* main.depth: the user's recursion. */
__attribute__((noinline)) uint32_t main_depth(uint32_t n) {
	volatile uint32_t pad[2];
	pad[0] = n;
	pad[1] = n ? main_depth(n - 1) : 0;
	return pad[0] + pad[1];
}

/* //go:interrupthandler bound to IRQ6_Handler (EXTI0): only wakes the note and reads the time. */
void irq_exti0(void) {
	main_ticks = (uint32_t)rt_nanotime();
	rtos_note_wakeup(&main_note);
}

/* //go:interrupthandler bound to IRQ28_Handler (TIM2): allocates -> "malloc during signal". */
static void *last;
void irq_tim2(void) { last = rt_newobject(&tim2_type); }

/* //go:interrupthandler bound to IRQ23_Handler (EXTI9_5), enabled at rtos.IntPrioHigh (0x20):
 * above rtos.IntPrioSysCall (0x80), so its nanotime system call (SVC 0) escalates to HardFault. */
void irq_exti9_5(void) { main_ticks = (uint32_t)rt_nanotime(); }

/* runtime.taskerinit: SVCall at 4<<5 (rtos.IntPrioSysCall's byte) and PendSV at 255, the lowest,
 * with SCB StoreBits (a read-modify-write of SHPR2 and SHPR3). */
#define SHPR2 (*(volatile uint32_t *)0xE000ED1Cu)
#define SHPR3 (*(volatile uint32_t *)0xE000ED20u)
__attribute__((noinline)) void rt_taskerinit(void) {
	SHPR2 = (SHPR2 & ~(0xFFu << 24)) | ((4u << 5) << 24);
	SHPR3 = (SHPR3 & ~(0xFFu << 16)) | (255u << 16);
}

/* A goroutine: waits for the note, then works (main.work grows its stack when it must). */
void main_blinky(void) {
	for (;;) {
		rtos_note_sleep(&main_note);
		main_work();
	}
}

extern void rt_newproc(void (*fn)(void));
extern void main_enable_irqs(void);          /* Go ABI0 calls of irqctl: see egofw.S */
static struct panicrec root_panic;

void main_main(void) {
	rt_taskerinit();
	main_enable_irqs();
	void *s = 0;
	for (uint32_t i = 1; i <= 4; i++)
		s = rt_growslice(s, i);
	rt_newproc(main_blinky);
	if (main_depth(3) == 0)
		rt_printpanics(&root_panic);
	for (;;)
		rtos_note_sleep(&main_note);
}

/* Reference firmware that RUNS with Embedded Go's shape (GOOS=noos GOARCH=thumb), in C.
 * Like the real runtime (tasker_noos_thumb.go, rt0_noos_thumb.s): threads run unprivileged on
 * PSP, system calls enter SVCall, the tasker switches threads in PendSV, print writes to ITM
 * stimulus port 2 in the SVC handler (defaultWrite), and taskerinit sets the MPU up with the
 * runtime's four regions, region 1 making the first 64 bytes (nil) inaccessible.
 * The Makefile renames the C names to the runtime's Go names (egorun-names.txt).
 * Every figure the tests check can be read off this file and egorun.S (examples/README.md). */
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define ICSR REG(0xE000ED04u)
#define VTOR REG(0xE000ED08u)
#define SHPR2 REG(0xE000ED1Cu)
#define SHPR3 REG(0xE000ED20u)
#define SHCSR REG(0xE000ED24u)
#define DEMCR REG(0xE000EDFCu)
#define NVIC_ISER0 REG(0xE000E100u)
#define MPU_TYPE REG(0xE000ED90u)
#define MPU_CTRL REG(0xE000ED94u)
#define MPU_RBAR REG(0xE000ED9Cu)
#define MPU_RASR REG(0xE000EDA0u)
#define ITM_STIM(n) REG(0xE0000000u + 4u * (n))
#define ITM_TER REG(0xE0000E00u)
#define ITM_TCR REG(0xE0000E80u)
#define ITM_LAR REG(0xE0000FB0u)
#define DEVICE_STATUS REG(0x40001010u) /* a device nothing models (STM32F4 TIM6, nRF52 RADIO) */

#define PORT 2                  /* Go's print writes to fd 2: ITM stimulus port 2 */
#define HEAP_BYTES 1024u
#define ROUNDS 3
#define ALLOCS_PER_ROUND 40
#define OBJECT_BYTES 32u

extern void rt_vectors(void);
extern void rt_gcStart(void);   /* egorun.S: the stop-the-world phases */
extern uint32_t rt_write(uint32_t fd, const char *p, uint32_t n); /* SVC 1 */
extern void rt_osyield(void);   /* SVC 2 */
extern void rt_newosproc(void (*fn)(void)); /* SVC 3 */
extern void rt_exit(uint32_t code) __attribute__((noreturn)); /* SVC 4 */
extern void rt_goexit(void);

struct thread { uint32_t *sp; struct thread *next; };
struct thread rt_thread0, rt_thread1;
struct thread *rt_curthread = &rt_thread0;
static uint32_t stack1[256] __attribute__((aligned(8)));

extern uint8_t rt_end[];        /* runtime.end: the heap starts after .bss, as the runtime's arena */
#define heap rt_end
static uint32_t heap_used;
volatile uint32_t rt_gccycles;
volatile uint32_t main_wakeups;
static const uint32_t object_type = OBJECT_BYTES;
void *volatile main_keep;

static inline uint32_t ipsr(void) {
	uint32_t v;
	__asm__ volatile("mrs %0, ipsr" : "=r"(v));
	return v;
}

__attribute__((noinline, noreturn)) void rt_throw(const char *msg) {
	(void)msg;
	for (;;) __asm__ volatile("bkpt #1");
}

/* runtime.taskerinit (privileged, on the ISR stack): priorities, fault handlers, MPU, ITM. */
static void mpu_region(uint32_t rbar, uint32_t rasr) { MPU_RBAR = rbar; MPU_RASR = rasr; }
#define SIZE(e) (((uint32_t)(e) - 1u) << 1)
#define SRD(b) ((uint32_t)(b) << 8)
void rt_taskerinit(void) {
	VTOR = (uint32_t)rt_vectors;
	SHCSR |= 7u << 16;                          /* MemManage, BusFault, UsageFault enabled */
	SHPR2 = (4u << 5) << 24;                    /* SVCall priority 128 */
	SHPR3 = (SHPR3 & 0xFF00FFFFu) | 255u << 16; /* PendSV priority 255: the lowest */
	NVIC_ISER0 = 1u << 6;                       /* IRQ6: the handler that wakes a note */
	if (((MPU_TYPE >> 8) & 0xFF) >= 4 && !(MPU_CTRL & 1)) {
		const uint32_t code = 3u << 24 | 1u << 17, ram = 3u << 24 | 1u << 19 | 3u << 16,
		               periph = 3u << 24 | 1u << 16 | 1u << 28;
		mpu_region(0x10 | 0, 1 | SIZE(29) | code);
		mpu_region(0x10 | 1, 1 | SIZE(6));      /* no access: nil is 0x00000000..0x0000003f */
		mpu_region(0x10 | 2, 1 | SIZE(32) | SRD(0x9B) | periph);
		mpu_region(0x10 | 3, 1 | SIZE(32) | SRD(0xE5) | ram);
		MPU_CTRL = 1 | 4;                       /* ENABLE | PRIVDEFENA */
	}
	DEMCR |= 1u << 24;                          /* TRCENA */
	ITM_LAR = 0xC5ACCE55u;                      /* unlock the ITM */
	ITM_TCR = 1u;                               /* ITMENA */
	ITM_TER = 1u << PORT;                       /* only port 2 enabled */
}

/* runtime.defaultWrite (handler mode): as tasker_noos_thumb.go, words then bytes to the port. */
uint32_t rt_defaultWrite(uint32_t fd, const char *p, uint32_t n) {
	uint32_t i = 0;
	while (i < n) {
		while (!(ITM_STIM(fd) & 1))
			if (!(ITM_TER & (1u << fd)) || !(ITM_TCR & 1))
				return n;                       /* do not block on a disabled port */
		if (n - i >= 4) {
			ITM_STIM(fd) = (uint32_t)(uint8_t)p[i] | (uint32_t)(uint8_t)p[i + 1] << 8 |
			               (uint32_t)(uint8_t)p[i + 2] << 16 | (uint32_t)(uint8_t)p[i + 3] << 24;
			i += 4;
		} else {
			*(volatile uint8_t *)&ITM_STIM(fd) = (uint8_t)p[i];
			i++;
		}
	}
	return n;
}

/* runtime.newosproc (SVC 3): the new thread's stack holds the frame PendSV restores: r4-r11,
 * then the hardware frame r0-r3, r12, lr, pc, xPSR. */
void rt_newproc1(void (*fn)(void)) {
	uint32_t *sp = &stack1[256];
	*--sp = 0x01000000u;                        /* xPSR: Thumb */
	*--sp = (uint32_t)fn & ~1u;                 /* pc */
	*--sp = (uint32_t)rt_goexit;                /* lr */
	for (int i = 0; i < 5 + 8; i++)             /* r12, r3-r0, r11-r4 */
		*--sp = 0;
	rt_thread1.sp = sp;
	rt_thread1.next = &rt_thread0;
	rt_thread0.next = &rt_thread1;
}

/* runtime.svcallHandler's service routines, by the svc immediate; frame is the stacked r0.. */
void rt_syscall(uint32_t *frame) {
	uint32_t n = ((const uint8_t *)frame[6])[-2];
	switch (n) {
	case 1: frame[0] = rt_defaultWrite(frame[0], (const char *)frame[1], frame[2]); break;
	case 2: ICSR = 1u << 28; break;             /* osyield: pend PendSV */
	case 3: rt_newproc1((void (*)(void))frame[0]); break;
	case 4: {                                   /* exit: semihosting SYS_EXIT_EXTENDED */
		uint32_t block[2] = {0x20026u, frame[0]};
		register uint32_t r0 __asm__("r0") = 0x20;
		register uint32_t *r1 __asm__("r1") = block;
		__asm__ volatile("bkpt #0xab" : "+r"(r0) : "r"(r1) : "memory");
		break;
	}
	default: rt_throw("bad syscall");
	}
}

/* runtime.mallocgc and runtime.newobject are in egorun.S: they take their arguments and return
 * their result on the stack, as Go's ABI0 does. mallocgc's body is this bump allocator over the
 * heap's first 1 KiB (register arguments); a full heap runs a collection, after which the
 * collector asks the running goroutine to stop at its next function prologue (Go's stackPreempt
 * in g.stackguard0): mallocgc's next entry calls morestack, which serves the request and enters
 * mallocgc again from the top. */
#define STACK_PREEMPT 0xFFFFFADEu
volatile uint32_t rt_stackguard0;
volatile uint32_t rt_preempts;
/* runtime.gcController: the runtime's heap accounting (mgcpacer.go gcControllerState), which a run
 * reads at its end through DWARF. This collector marks every object it scans: heapMarked is the
 * heap in use when the last collection ran; heapInUse the bump heap in use now. */
struct gcControllerState {
	int64_t gcPercent;
	int64_t memoryLimit;
	uint64_t heapLive;
	uint64_t heapMarked;
	uint64_t heapInUse;
};
volatile struct gcControllerState rt_gcController = {20, -1, 0, 0, 0};
uint8_t *rt_nextFree(uint32_t size, uint32_t zero) {
	if (ipsr() != 0)
		rt_throw("malloc during signal");
	uint32_t at = (heap_used + 7u) & ~7u;
	if (at + size > HEAP_BYTES) {
		rt_gcStart();
		rt_gcController.heapMarked = heap_used;
		rt_stackguard0 = STACK_PREEMPT;
		at = 0;
	}
	heap_used = at + size;
	rt_gcController.heapInUse = heap_used;
	uint8_t *p = &heap[at];
	if (zero)
		for (uint32_t i = 0; i < size; i++) p[i] = 0;
	return p;
}

/* `new(T)` in Go: runtime.newobject(typ) with the argument at [sp+4] and the result at [sp+8]
 * of the caller's outgoing area ([sp] is the slot the callee saves its LR in). */
static void *newobject(const uint32_t *type) {
	void *p;
	__asm__ volatile("sub sp, #16\n\tstr %1, [sp, #4]\n\tbl rt_newobject\n\tldr %0, [sp, #8]\n\tadd sp, #16"
	                 : "=r"(p) : "r"(type) : "r0", "r1", "r2", "r3", "r12", "lr", "memory", "cc");
	return p;
}

/* runtime.gcBgMarkWorker: the concurrent mark; gcDrain scans the heap (the world runs: not a pause). */
volatile uint32_t rt_marked;
__attribute__((noinline)) void rt_gcDrain(void) {
	for (uint32_t at = 0; at < heap_used; at += OBJECT_BYTES)
		rt_marked += heap[at] == 0;
}
void rt_gcBgMarkWorker(void) { rt_gcDrain(); }

/* IRQ6_Handler, a //go:interrupthandler: only wakes a note (no allocation, no system call). */
void irq6_handler(void) { main_wakeups++; }

static uint32_t len(const char *s) { uint32_t n = 0; while (s[n]) n++; return n; }
static void print(const char *s) { rt_write(PORT, s, len(s)); }
static void printdigit(const char *s, uint32_t d) {
	char line[32];
	uint32_t n = len(s);
	for (uint32_t i = 0; i < n; i++) line[i] = s[i];
	line[n] = (char)('0' + d);
	line[n + 1] = '\n';
	rt_write(PORT, line, n + 2);
}

/* The second goroutine: prints and yields three times, then only yields. */
void main_worker(void) {
	for (uint32_t i = 0; i < ROUNDS; i++) {
		printdigit("ego: B ", i);
		rt_osyield();
	}
	for (;;)
		rt_osyield();
}

void main_main(void) {
	uint32_t control, primask;
	print("ego: start\n");
	__asm__ volatile("movs r0, #0\n msr control, r0\n cpsid i" ::: "r0", "memory"); /* ignored: unprivileged */
	__asm__ volatile("mrs %0, control" : "=r"(control));
	__asm__ volatile("mrs %0, primask" : "=r"(primask));
	print(control == 3 && primask == 0 ? "ego: thread mode unprivileged on PSP\n"
	                                   : "ego: privilege not enforced\n");
#ifdef NULL_DEREF
	main_keep = (void *)*(volatile uint32_t *)0;    /* nil dereference: MemManage (MPU region 1) */
#endif
#ifdef PPB_FROM_THREAD
	ICSR = 1u << 28;                            /* unprivileged access to the SCS: BusFault */
#endif
	while (!(DEVICE_STATUS & 1))                /* wait for the device, yielding the CPU: a poll */
		rt_osyield();                           /* the solver answers through the yield */
	ITM_STIM(1) = 0x21212121u;                  /* port 1 is not enabled: nothing is sent */
	rt_newosproc(main_worker);
	for (uint32_t r = 0; r < ROUNDS; r++) {
		for (uint32_t i = 0; i < ALLOCS_PER_ROUND; i++)
			main_keep = newobject(&object_type);
		printdigit("ego: A ", r);
		rt_osyield();
	}
	printdigit("ego: gc cycles ", rt_gccycles);
	printdigit("ego: preempted ", rt_preempts);
	rt_exit(0);
}

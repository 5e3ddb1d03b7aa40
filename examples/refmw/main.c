/* main.c - the reference program: main.main, its goroutine-like tasks and its handlers.
 * Every number it prints is deterministic (no timers run; all interrupts are pended by
 * the program itself), so qemu's output is recorded in expected/<build>.out.
 */
#include "rt.h"

#ifndef VARIANT
#define VARIANT "unknown"
#endif

/* ---- experiment "big .bss" (footprint): 16 KiB of zero-initialised RAM ---- */
#define BIG_BSS_SIZE 16384
static uint8_t bigBuffer[BIG_BSS_SIZE] GO("main.bigBuffer");

/* ---- experiment "recursion" (deepest safe depth): a fixed frame per level ---- */
#define RECURSION_DEPTH 24
static uintptr_t recursionFrame[2] GO("main.recursionFrame"); /* frame address at n=0 and n=1 */
static uint32_t recursionLevels GO("main.recursionLevels");

__attribute__((noipa)) uint32_t recurse(uint32_t n) GO("main.recurse");
uint32_t recurse(uint32_t n)
{
	volatile uint32_t frame[4]; /* keeps the frame the same at every level */

	frame[0] = n;
	frame[1] = n * 3u;
	recursionLevels++;
	if (n < 2)
		recursionFrame[n] = (uintptr_t)&frame[0];
	if (n == 0)
		return frame[0];
	return recurse(n - 1) + frame[1]; /* not a tail call */
}

static void report(const char *label, uint32_t value) GO("main.report");
static void report(const char *label, uint32_t value)
{
	runtime_printstring(label);
	runtime_printstring(": ");
	runtime_printuint32(value);
	runtime_putchar('\n');
}

static uint32_t tasksFinished GO("main.tasksFinished");
static uint32_t recursionResult GO("main.recursionResult");
static uint32_t recursionStackUsed GO("main.recursionStackUsed");
static uint32_t producerChecksum GO("main.producerChecksum");

/* Goroutine entry for the recursion (TinyGo names these <function>$gowrapper). */
void recurseTask(void) GO("main.recurse$gowrapper");
void recurseTask(void)
{
	recursionResult = recurse(RECURSION_DEPTH - 1);
#ifdef __arm__
	recursionStackUsed = (uint32_t)(task_currentStackTop() - recursionFrame[0]);
#else
	recursionStackUsed = (uint32_t)((uintptr_t)_stack_top - recursionFrame[0]);
#endif
	tasksFinished++;
}

/* ---- experiment "collector" (GC pauses): lots of short-lived garbage ---- */
#define PRODUCER_ALLOCS 1500
struct node {
	uint32_t *payload; /* heap -> heap pointer, found by scanning the object */
	uint32_t value;
};

void producerTask(void) GO("main.producer$gowrapper");
void producerTask(void)
{
	struct node *keep[4] = {0, 0, 0, 0}; /* the live set: roots on this task's stack */
	uint32_t sum = 0;

	for (uint32_t i = 0; i < PRODUCER_ALLOCS; i++) {
		uint32_t *payload = runtime_alloc(16);
		struct node *n = runtime_alloc(16 + (i % 8) * 32); /* 16..240 bytes */
		payload[0] = i * 7u;
		n->payload = payload;
		n->value = i;
		keep[i % 4] = n;
#ifdef __arm__
		if (i % 32 == 31)
			task_Pause();
#endif
	}
	for (int k = 0; k < 4; k++)
		sum += keep[k]->value + keep[k]->payload[0];
	producerChecksum = sum;
	tasksFinished++;
}

#ifdef __arm__
/* ---- experiments "priorities" and "allocating handler" ---- */
#define ICSR 0xE000ED04u
#define ICSR_PENDSVSET (1u << 28)
#define ICSR_PENDSTSET (1u << 26)
#define SHPR3 0xE000ED20u /* [23:16] PendSV priority, [31:24] SysTick priority */
#define NVIC_ISER0 0xE000E100u
#define NVIC_IPR(n) (0xE000E400u + (n))
#define NVIC_STIR 0xE000EF00u
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u

#if defined(CHIP_LM3S6965)
#define IRQ_QUIET 0 /* GPIO port A */
#define IRQ_ALLOC 6 /* UART1 */
#define QUIET_HANDLER GPIOPortA_IRQHandler
#define ALLOC_HANDLER UART1_IRQHandler
#else
#define IRQ_QUIET 8 /* CMSDK timer 0 */
#define IRQ_ALLOC 9 /* CMSDK timer 1 */
#define QUIET_HANDLER TIMER0_IRQHandler
#define ALLOC_HANDLER TIMER1_IRQHandler
#endif
#define PRIO_QUIET 0x40	  /* highest of ours: may preempt the allocating handler */
#define PRIO_ALLOC 0x80
#define PRIO_SYSTICK 0xC0 /* above PendSV */
#define PRIO_PENDSV 0xFF  /* lowest; silicon with 3 priority bits reads back 0xE0, qemu 7.2 0xFF */

static volatile uint32_t sysTickCount GO("main.sysTickCount");
static volatile uint32_t pendSVCount GO("main.pendSVCount");
static volatile uint32_t pendSVEarly GO("main.pendSVEarly");
static volatile uint32_t quietCount GO("main.quietCount");
static volatile uint32_t allocIrqCount GO("main.allocIrqCount");
static volatile uint32_t nestedCount GO("main.nestedCount");
static volatile uint32_t pspBeforeIrq GO("main.pspBeforeIrq");
static volatile uint32_t frameBytes GO("main.frameBytes");
static uint32_t *irqLog[4] GO("main.irqLog");

static inline uint32_t readPSP(void)
{
	uint32_t v;
	__asm__ volatile("mrs %0, psp" : "=r"(v));
	return v;
}

static inline void barrier(void)
{
	__asm__ volatile("dsb\n\tisb" ::: "memory");
}

static void pendIRQ(uint32_t irq)
{
	MMIO32(NVIC_STIR) = irq; /* software trigger: taken right after the barrier */
	barrier();
}

/* Pend the quiet IRQ from a task and return the bytes the core stacked on PSP:
 * 32 for a basic frame, 104 for a frame with FP state (M4F task that used the FPU). */
static uint32_t measureExceptionFrame(void) GO("main.measureExceptionFrame");
static uint32_t measureExceptionFrame(void)
{
	pspBeforeIrq = readPSP();
	pendIRQ(IRQ_QUIET);
	return frameBytes;
}

void SysTick_Handler(void)
{
	uint32_t before = pendSVCount;

	sysTickCount++;
	MMIO32(ICSR) = ICSR_PENDSVSET; /* PendSV is lower: it must wait for us to return */
	barrier();
	if (pendSVCount != before)
		pendSVEarly++;
}

void PendSV_Handler(void)
{
	pendSVCount++;
}

/* The handler that does not allocate. */
void QUIET_HANDLER(void)
{
	quietCount++;
	if (pspBeforeIrq) {
		frameBytes = pspBeforeIrq - readPSP();
		pspBeforeIrq = 0;
	}
}

/* Deliberate violation: allocation in interrupt context (TinyGo would panic
 * "heap alloc in interrupt").  It also pends the quiet IRQ, which preempts it. */
void ALLOC_HANDLER(void)
{
	uint32_t n = allocIrqCount++;
	uint32_t *p = runtime_alloc(24);
	uint32_t before = quietCount;

	p[0] = n;
	irqLog[n % 4] = p;
	pendIRQ(IRQ_QUIET);
	if (quietCount != before)
		nestedCount++;
}

static void initInterrupts(void) GO("main.initInterrupts");
static void initInterrupts(void)
{
	MMIO32(SHPR3) = ((uint32_t)PRIO_SYSTICK << 24) | ((uint32_t)PRIO_PENDSV << 16);
	*(volatile uint8_t *)NVIC_IPR(IRQ_QUIET) = PRIO_QUIET;
	*(volatile uint8_t *)NVIC_IPR(IRQ_ALLOC) = PRIO_ALLOC;
	MMIO32(NVIC_ISER0) = (1u << IRQ_QUIET) | (1u << IRQ_ALLOC);
	/* SysTick: reload for a 1 ms tick at 12 MHz, interrupt enabled, counter left
	 * disabled so that runs are deterministic; the program pends SysTick itself. */
	MMIO32(SYST_RVR) = 11999;
	MMIO32(SYST_CSR) = 1u << 1; /* TICKINT */
}

#ifdef __ARM_FP
/* ---- M4F only: a task that keeps FP values live across a switch and an interrupt ---- */
static uint32_t fpuResult GO("main.fpuResult");
static uint32_t fpuFrameBytes GO("main.fpuFrameBytes");

void fpuTask(void) GO("main.fpu$gowrapper");
void fpuTask(void)
{
	float acc = 0.0f, x = 1.0f;

	for (int i = 1; i <= 64; i++) {
		acc += x / (float)i;
		x = x * 0.75f + 0.125f;
		if (i % 16 == 0)
			task_Pause();
	}
	fpuFrameBytes = measureExceptionFrame(); /* FP context active: extended frame */
	fpuResult = (uint32_t)(acc * 1000.0f + x);
	tasksFinished++;
}
#endif
#endif /* __arm__ */

void main_main(void)
{
	uint32_t started = 0, sum = 0;

	runtime_printstring("refmw " VARIANT "\n");
	for (uint32_t i = 0; i < BIG_BSS_SIZE; i++)
		bigBuffer[i] = (uint8_t)(i * 13u);
	for (uint32_t i = 0; i < BIG_BSS_SIZE; i += 64)
		sum += bigBuffer[i];
	report("big bss bytes", BIG_BSS_SIZE);
	report("big bss checksum", sum);

#ifdef __arm__
	initInterrupts();
	report("systick priority", MMIO32(SHPR3) >> 24);
	report("pendsv priority", (MMIO32(SHPR3) >> 16) & 0xFFu);
	report("quiet irq", IRQ_QUIET);
	report("quiet irq priority", *(volatile uint8_t *)NVIC_IPR(IRQ_QUIET));
	report("alloc irq", IRQ_ALLOC);
	report("alloc irq priority", *(volatile uint8_t *)NVIC_IPR(IRQ_ALLOC));

	/* go producer(); go recurse(); [go fpu()] */
	task_start((uintptr_t)&producerTask, TASK_PRODUCER);
	task_start((uintptr_t)&recurseTask, TASK_RECURSE);
	started = 2;
#ifdef __ARM_FP
	task_start((uintptr_t)&fpuTask, TASK_FPU);
	started = 3;
#endif
	report("exception frame bytes (main task)", measureExceptionFrame());
	for (int i = 0; i < 4; i++) {
		MMIO32(ICSR) = ICSR_PENDSTSET;
		barrier();
		pendIRQ(IRQ_ALLOC);
		task_Pause();
	}
	while (tasksFinished < started)
		task_Pause();
#else
	producerTask();
	recurseTask();
	started = 2;
#endif

	report("tasks started", started);
	report("tasks finished", tasksFinished);
	report("recursion depth", recursionLevels);
	report("recursion bytes per level", (uint32_t)(recursionFrame[1] - recursionFrame[0]));
	report("recursion stack used", recursionStackUsed);
	report("recursion result", recursionResult);
	report("producer checksum", producerChecksum);
#ifdef __arm__
	report("systick runs", sysTickCount);
	report("pendsv runs", pendSVCount);
	report("pendsv before systick returned", pendSVEarly);
	report("quiet irq runs", quietCount);
	report("alloc irq runs", allocIrqCount);
	report("quiet irq nested in alloc irq", nestedCount);
	report("irq log", irqLog[0][0] + irqLog[1][0] + irqLog[2][0] + irqLog[3][0]);
#ifdef __ARM_FP
	report("fpu result", fpuResult);
	report("exception frame bytes (fpu task)", fpuFrameBytes);
#endif
#endif
	runtime_GC();
	report("allocations", runtime_allocCount);
	report("gc cycles", runtime_gcCycles);
	report("gc freed blocks", runtime_gcFreedBlocks);
	report("heap live blocks", runtime_liveBlocks());
	runtime_printstring("done\n");
}

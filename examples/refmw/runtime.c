/* runtime.c - start-up, output, exit and a TinyGo-like conservative mark-sweep heap.
 *
 * Experiment "collector" (GC pauses): the heap lies between the linker symbols
 * _heap_start and _heap_end.  It is cut into 16-byte blocks; two state bits per block
 * (free, head, tail, marked) are stored at the end of the heap, about 1/65 of it, as in
 * TinyGo's gc_blocks.go.  runtime.alloc is next-fit; when it finds no free run it calls
 * runtime.GC inline, in whatever context allocated (task or interrupt).  Marking is
 * conservative: every aligned word of the globals (_globals_start.._globals_end) and of
 * the current stack that points into the heap keeps its object alive, and reachable
 * objects are scanned the same way.  Goroutine stacks are heap objects reachable from
 * the task table (a global), so they are scanned as ordinary objects.
 */
#include "rt.h"

/* ---- freestanding helpers (no libc) ---- */
void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

/* ---- output and exit ---- */
#if defined(CHIP_LM3S6965)
#define UART0_DR 0x4000C000u	/* Stellaris (PL011) UART0 data register */
#define UART0_FR 0x4000C018u	/* flag register, bit 5 = TX FIFO full */
#elif defined(CHIP_AN386)
#define UART0_DATA 0x40004000u	/* CMSDK APB UART0 */
#define UART0_STATE 0x40004004u /* bit 0 = TX buffer full */
#define UART0_CTRL 0x40004008u	/* bit 0 = TX enable */
#define UART0_BAUDDIV 0x40004010u
#elif defined(CHIP_QEMU_VIRT_RV32)
#define UART16550_THR 0x10000000u /* 16550 transmit holding register */
#define UART16550_LSR 0x10000005u /* line status, bit 5 = THR empty */
#define SIFIVE_TEST 0x00100000u	  /* write 0x5555 = pass, (code << 16) | 0x3333 = fail */
#endif
#ifndef BOARD_CHIP /* examples/boards: the chip layer brings putchar; uartInit is its start-up */
static void uartInit(void)
{
#if defined(CHIP_AN386)
	MMIO32(UART0_BAUDDIV) = 16;
	MMIO32(UART0_CTRL) = 1;
#endif
}

void runtime_putchar(char c)
{
#if defined(CHIP_LM3S6965)
	while (MMIO32(UART0_FR) & (1u << 5))
		;
	MMIO32(UART0_DR) = (uint8_t)c;
#elif defined(CHIP_AN386)
	while (MMIO32(UART0_STATE) & 1u)
		;
	MMIO32(UART0_DATA) = (uint8_t)c;
#elif defined(CHIP_QEMU_VIRT_RV32)
	while (!(*(volatile uint8_t *)UART16550_LSR & (1u << 5)))
		;
	*(volatile uint8_t *)UART16550_THR = (uint8_t)c;
#endif
}
#endif
void runtime_printstring(const char *s)
{
	while (*s)
		runtime_putchar(*s++);
}

void runtime_printuint32(uint32_t v)
{
	char buf[11];
	int i = sizeof(buf) - 1;
	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	runtime_printstring(&buf[i]);
}

void runtime_exit(int code)
{
#ifdef __arm__
	/* ARM semihosting SYS_EXIT (0x18); on AArch32 r1 holds the reason itself.
	 * ADP_Stopped_ApplicationExit (0x20026) makes qemu exit with status 0; any other
	 * reason (ADP_Stopped_RunTimeErrorUnknown, 0x20023) makes it exit with status 1. */
	register uint32_t r0 __asm__("r0") = 0x18;
	register uint32_t r1 __asm__("r1") = code == 0 ? 0x20026u : 0x20023u;
	__asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
#else
	MMIO32(SIFIVE_TEST) = code == 0 ? 0x5555u : ((uint32_t)code << 16) | 0x3333u;
#endif
	for (;;)
		;
}

void runtime_panic(const char *msg)
{
	runtime_printstring("panic: ");
	runtime_printstring(msg);
	runtime_putchar('\n');
	runtime_exit(1);
}

/* ---- heap and collector ---- */
#define BLOCK_SIZE 16u
enum { BLOCK_FREE = 0, BLOCK_HEAD = 1, BLOCK_TAIL = 2, BLOCK_MARK = 3 };
#define MARK_STACK_SIZE 32

uint32_t runtime_allocCount GO("runtime.allocCount");
uint32_t runtime_gcCycles GO("runtime.gcCycles");
uint32_t runtime_gcFreedBlocks GO("runtime.gcFreedBlocks");

static uintptr_t heapStart;	/* first block */
static uint32_t numBlocks;
static uint8_t *metadata;	/* 2 bits per block, at the end of the heap */
static uint32_t nextAlloc;	/* next-fit cursor */
static uint32_t markStack[MARK_STACK_SIZE];
static uint32_t markStackLen;
static uint8_t markStackOverflow;
static uint32_t zeroSizedAlloc;

static uint32_t blockState(uint32_t b)
{
	return (metadata[b / 4] >> ((b % 4) * 2)) & 3u;
}

static void setBlockState(uint32_t b, uint32_t s)
{
	uint8_t *m = &metadata[b / 4];
	*m = (uint8_t)((*m & ~(3u << ((b % 4) * 2))) | (s << ((b % 4) * 2)));
}

void runtime_initHeap(void)
{
	uintptr_t start = ((uintptr_t)_heap_start + BLOCK_SIZE - 1) & ~(uintptr_t)(BLOCK_SIZE - 1);
	uintptr_t end = (uintptr_t)_heap_end;
	uint32_t n = (uint32_t)((end - start) * 4 / (BLOCK_SIZE * 4 + 1));
	uint32_t metaBytes = (n + 3) / 4;

	heapStart = start;
	numBlocks = n;
	metadata = (uint8_t *)(end - metaBytes);
	memset(metadata, 0, metaBytes);
	nextAlloc = 0;
}

/* Mark the object holding address p, if p points into a used block. */
static void markAddress(uintptr_t p)
{
	uint32_t b, s;

	if (p < heapStart || p >= heapStart + numBlocks * BLOCK_SIZE)
		return;
	b = (uint32_t)((p - heapStart) / BLOCK_SIZE);
	while (blockState(b) == BLOCK_TAIL)
		b--;
	s = blockState(b);
	if (s != BLOCK_HEAD)
		return; /* free, or already marked */
	setBlockState(b, BLOCK_MARK);
	if (markStackLen < MARK_STACK_SIZE)
		markStack[markStackLen++] = b;
	else
		markStackOverflow = 1;
}

/* Conservatively scan [start, end) for heap pointers (TinyGo: runtime.markRoots). */
NOINLINE void runtime_markRoots(uintptr_t start, uintptr_t end) GO("runtime.markRoots");
void runtime_markRoots(uintptr_t start, uintptr_t end)
{
	for (start = (start + 3) & ~(uintptr_t)3; start + 4 <= end; start += 4)
		markAddress(*(uint32_t *)start);
}

static void scanObject(uint32_t b) GO("runtime.scanObject");
static void scanObject(uint32_t b)
{
	uint32_t e = b + 1;
	while (e < numBlocks && blockState(e) == BLOCK_TAIL)
		e++;
	runtime_markRoots(heapStart + b * BLOCK_SIZE, heapStart + e * BLOCK_SIZE);
}

/* Drain the mark stack; after an overflow, rescan every marked object. */
NOINLINE void runtime_finishMark(void) GO("runtime.finishMark");
void runtime_finishMark(void)
{
	for (;;) {
		while (markStackLen) {
			uint32_t b = markStack[--markStackLen];
			markStack[markStackLen] = 0; /* leave no stale root in the globals */
			scanObject(b);
		}
		if (!markStackOverflow)
			return;
		markStackOverflow = 0;
		for (uint32_t b = 0; b < numBlocks; b++)
			if (blockState(b) == BLOCK_MARK)
				scanObject(b);
	}
}

/* Called by tinygo_scanCurrentStack with the callee-saved registers pushed at sp. */
void runtime_markStack(uintptr_t sp)
{
	uintptr_t top = (uintptr_t)_stack_top;
#ifdef __arm__
	if (sp < (uintptr_t)_stack_top - (uintptr_t)_stack_size || sp >= (uintptr_t)_stack_top)
		top = task_currentStackTop(); /* on a goroutine stack (PSP) */
#endif
	runtime_markRoots(sp, top);
}

NOINLINE static uint32_t sweep(void) GO("runtime.sweep");
static uint32_t sweep(void)
{
	uint32_t freed = 0, freeing = 0;
	for (uint32_t b = 0; b < numBlocks; b++) {
		switch (blockState(b)) {
		case BLOCK_HEAD:
			setBlockState(b, BLOCK_FREE);
			freeing = 1;
			freed++;
			break;
		case BLOCK_TAIL:
			if (freeing) {
				setBlockState(b, BLOCK_FREE);
				freed++;
			}
			break;
		case BLOCK_MARK:
			setBlockState(b, BLOCK_HEAD);
			freeing = 0;
			break;
		default:
			freeing = 0;
			break;
		}
	}
	return freed;
}

/* A full collection, inline in the caller's context (TinyGo: runtime.GC / runGC). */
NOINLINE void runtime_GC(void)
{
	runtime_gcCycles++;
	runtime_markRoots((uintptr_t)_globals_start, (uintptr_t)_globals_end);
	tinygo_scanCurrentStack();
	runtime_finishMark();
	runtime_gcFreedBlocks += sweep();
}

uint32_t runtime_liveBlocks(void)
{
	uint32_t n = 0;
	for (uint32_t b = 0; b < numBlocks; b++)
		n += blockState(b) != BLOCK_FREE;
	return n;
}

/* Next-fit search for `need` free blocks; returns numBlocks when there is no run. */
static uint32_t findFree(uint32_t need) GO("runtime.findFree");
static uint32_t findFree(uint32_t need)
{
	uint32_t run = 0, b = nextAlloc;
	for (uint32_t steps = 0; steps < numBlocks + need; steps++, b++) {
		if (b == numBlocks) {
			b = 0;
			run = 0; /* a run cannot wrap around the end */
		}
		run = blockState(b) == BLOCK_FREE ? run + 1 : 0;
		if (run == need)
			return b + 1 - need;
	}
	return numBlocks;
}

/* The allocator.  Experiment "allocating handler": it is also called from an interrupt. */
NOINLINE void *runtime_alloc(size_t size)
{
	uint32_t need, b;

	if (size == 0)
		return &zeroSizedAlloc;
	runtime_allocCount++;
	need = (uint32_t)((size + BLOCK_SIZE - 1) / BLOCK_SIZE);
	b = findFree(need);
	if (b == numBlocks) {
		runtime_GC();
		b = findFree(need);
		if (b == numBlocks)
			runtime_panic("out of memory");
	}
	setBlockState(b, BLOCK_HEAD);
	for (uint32_t i = 1; i < need; i++)
		setBlockState(b + i, BLOCK_TAIL);
	nextAlloc = b + need == numBlocks ? 0 : b + need;
	return memset((void *)(heapStart + b * BLOCK_SIZE), 0, need * BLOCK_SIZE);
}

/* ---- reset ---- */

/* The main goroutine (TinyGo: runtime.run$1 calls main.main; returning exits). */
void runtime_run1(void)
{
	main_main();
	runtime_exit(0);
}

void Reset_Handler(void)
{
	memcpy(_sdata, _sidata, (size_t)(_edata - _sdata));
	memset(_sbss, 0, (size_t)(_ebss - _sbss));
#if defined(__ARM_FP)
	/* Cortex-M4F: grant full access to CP10/CP11 (CPACR) before any FP instruction. */
	MMIO32(0xE000ED88) |= 0xFu << 20;
	__asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
	uartInit();
	runtime_initHeap();
#ifdef __arm__
	/* main runs as a goroutine on PSP; the scheduler and interrupts stay on MSP. */
	task_start((uintptr_t)&runtime_run1, TASK_MAIN);
	runtime_scheduler();
#else
	runtime_run1();
#endif
	runtime_exit(0);
}

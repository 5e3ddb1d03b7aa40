/* board.h - what the board program (program.c) needs from a chip layer (chip_<family>.c).
 *
 * The builds reuse refmw's runtime (../refmw/runtime.c: exit, heap, collector, run$1,
 * Reset_Handler) and tasks (../refmw/task.c, swap).  This header is force-included
 * (-include board.h) into every board object.  With BOARD_CHIP defined, runtime.c leaves
 * out its own putchar and uartInit; the uartInit() call in its Reset_Handler then names
 * runtime.init, the chip's start-up (TinyGo: the runtime package's init: clocks, timer,
 * console), run before runtime.initHeap.
 */
#ifndef BOARD_H
#define BOARD_H

#include "rt.h"

#define uartInit runtime_init

/* ---- the chip layer ---- */
void runtime_init(void) GO("runtime.init");
int64_t runtime_ticks(void) GO("runtime.ticks");	/* the chip's tick unit, since start-up */
void runtime_sleepTicks(int64_t d) GO("runtime.sleepTicks");
int64_t runtime_nanosecondsToTicks(int64_t ns) GO("runtime.nanosecondsToTicks");
void runtime_waitForEvents(void) GO("runtime.waitForEvents");

/* Timer interrupts taken (counted by the chip's timer handler). */
extern volatile uint32_t runtime_timerInterrupts GO("runtime.timerInterrupts");

/* ---- helpers shared by the chip layers ---- */
#define MMIO16(addr) (*(volatile uint16_t *)(uintptr_t)(addr))
#define MMIO8(addr) (*(volatile uint8_t *)(uintptr_t)(addr))

/* TinyGo's interrupt.Disable / interrupt.Restore (PRIMASK). */
static inline uint32_t irqDisable(void)
{
	uint32_t mask;
	__asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(mask)::"memory");
	return mask;
}

static inline void irqRestore(uint32_t mask)
{
	__asm__ volatile("msr primask, %0" ::"r"(mask) : "memory");
}

/* NVIC: priority (word access: ARMv6-M has no byte access to IPR) and enable. */
static inline void nvicEnable(uint32_t irq, uint8_t priority)
{
	volatile uint32_t *ipr = (volatile uint32_t *)(0xE000E400u + (irq & ~3u));
	uint32_t shift = (irq & 3u) * 8u;

	*ipr = (*ipr & ~(0xFFu << shift)) | ((uint32_t)priority << shift);
	MMIO32(0xE000E100u + (irq / 32u) * 4u) = 1u << (irq % 32u);
}

#endif

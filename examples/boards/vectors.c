/* vectors.c - the board's vector table (__isr_vector, first in .text), sized like the
 * chip's: 16 core vectors + NUM_IRQS, as TinyGo's device package lays it out (its length
 * is one way to tell the chip).  The timer interrupt goes to TIMER_HANDLER at
 * TIMER_IRQ (the chip's SVD name, e.g. TIMER_IRQ_0_IRQHandler); TIMER_IRQ < 0 means
 * SysTick.  Everything else is a weak alias of Default_Handler (panic, exit 1).
 * Set by the Makefile per chip: NUM_IRQS, TIMER_IRQ, TIMER_HANDLER.
 */
#include "board.h"

void Default_Handler(void);
void Default_Handler(void)
{
	runtime_panic("unexpected interrupt");
}

#define WEAK_DEFAULT __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) WEAK_DEFAULT;
void HardFault_Handler(void) WEAK_DEFAULT;
void MemManage_Handler(void) WEAK_DEFAULT;
void BusFault_Handler(void) WEAK_DEFAULT;
void UsageFault_Handler(void) WEAK_DEFAULT;
void SVC_Handler(void) WEAK_DEFAULT;
void DebugMon_Handler(void) WEAK_DEFAULT;
void PendSV_Handler(void) WEAK_DEFAULT;
void SysTick_Handler(void) WEAK_DEFAULT;
#if TIMER_IRQ >= 0
void TIMER_HANDLER(void) WEAK_DEFAULT;
#endif

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used))
const vector_t __isr_vector[16 + NUM_IRQS] = {
	[0] = (vector_t)(uintptr_t)_stack_top,
	[1] = Reset_Handler,
	[2] = NMI_Handler,
	[3] = HardFault_Handler,
	[4] = MemManage_Handler,
	[5] = BusFault_Handler,
	[6] = UsageFault_Handler,
	[7 ... 10] = 0, /* reserved */
	[11] = SVC_Handler,
	[12] = DebugMon_Handler,
	[13] = 0, /* reserved */
	[14] = PendSV_Handler,
	[15] = SysTick_Handler,
	[16 ... 16 + NUM_IRQS - 1] = Default_Handler,
#if TIMER_IRQ >= 0
	[16 + TIMER_IRQ] = TIMER_HANDLER,
#endif
};

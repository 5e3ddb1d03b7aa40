/* vectors.c - Cortex-M vector table (symbol __isr_vector, placed first in .text).
 * Word 0 is _stack_top (MSP at reset), word 1 Reset_Handler.  Handlers the firmware does
 * not define are weak aliases of Default_Handler.  The peripheral handlers used:
 *   lm3s6965 (m3):  IRQ 0 GPIOPortA_IRQHandler (no allocation), IRQ 6 UART1_IRQHandler (allocates)
 *   mps2-an386 (m4f): IRQ 8 TIMER0_IRQHandler (no allocation), IRQ 9 TIMER1_IRQHandler (allocates)
 */
#include "rt.h"

#define NUM_IRQS 48

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
#if defined(CHIP_LM3S6965)
void GPIOPortA_IRQHandler(void) WEAK_DEFAULT;
void UART1_IRQHandler(void) WEAK_DEFAULT;
#elif defined(CHIP_AN386)
void TIMER0_IRQHandler(void) WEAK_DEFAULT;
void TIMER1_IRQHandler(void) WEAK_DEFAULT;
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
#if defined(CHIP_LM3S6965)
	[16 + 0] = GPIOPortA_IRQHandler,
	[16 + 6] = UART1_IRQHandler,
#elif defined(CHIP_AN386)
	[16 + 8] = TIMER0_IRQHandler,
	[16 + 9] = TIMER1_IRQHandler,
#endif
};

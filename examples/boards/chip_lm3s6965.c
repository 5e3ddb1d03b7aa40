/* chip_lm3s6965.c - the qemu reference build (lm3s6965evb): the oracle for the output.
 * qemu has none of the family chips, so the same program runs here with the simplest
 * timer qemu models: SysTick, a 1 ms period interrupt; a tick is one millisecond.
 * Console: UART0, the Stellaris PL011 at 0x4000C000 (LM3S6965 data sheet, ch. 12).
 */
#include "board.h"

#define SYST_CSR 0xE000E010u /* ARMv7-M ARM B3.3.3: ENABLE 0, TICKINT 1, CLKSOURCE 2 */
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SHPR3 0xE000ED20u    /* [31:24] SysTick priority */
#define UART0_DR 0x4000C000u
#define UART0_FR 0x4000C018u /* bit 5 TXFF */

volatile uint32_t runtime_timerInterrupts GO("runtime.timerInterrupts");
static volatile uint32_t msTicks GO("runtime.msTicks");

void runtime_init(void)
{
	MMIO32(SHPR3) = 0xC0u << 24;
	MMIO32(SYST_RVR) = 12000 - 1; /* 12 MHz core clock (qemu's default for this board) */
	MMIO32(SYST_CVR) = 0;
	MMIO32(SYST_CSR) = 7;
}

void runtime_putchar(char c)
{
	while (MMIO32(UART0_FR) & (1u << 5))
		;
	MMIO32(UART0_DR) = (uint8_t)c;
}

void SysTick_Handler(void)
{
	msTicks++;
	runtime_timerInterrupts++;
}

int64_t runtime_ticks(void)
{
	return msTicks;
}

void runtime_sleepTicks(int64_t d)
{
	int64_t end = runtime_ticks() + d;

	while (runtime_ticks() < end)
		runtime_waitForEvents();
}

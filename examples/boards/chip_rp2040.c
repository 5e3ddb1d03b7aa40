/* chip_rp2040.c - Raspberry Pi Pico (RP2040) start-up, timer and console, shaped like
 * TinyGo's machine/runtime for rp2040 (machineInit, clocks.init, xosc.init, pll.init,
 * unresetBlockWait, timer lightSleep).  Registers from the RP2040 Datasheet (Raspberry Pi
 * Ltd): section numbers in the comments.
 * Clocks: XOSC 12 MHz -> PLL_SYS 1500 MHz / 6 / 2 = 125 MHz clk_sys; PLL_USB 480 / 5 / 2
 * = 48 MHz.  Time: TIMER, 1 MHz (a tick is 1 us), ALARM0 -> TIMER_IRQ_0 (IRQ 0).
 * Console: UART0 (PL011) at 0x40034000, GP0 TX, 115200 baud from clk_peri 125 MHz.
 */
#include "board.h"

/* 2.14.3 RESETS: RESET (1 = held in reset), RESET_DONE (1 = out of reset). */
#define RESETS_RESET 0x4000C000u
#define RESETS_RESET_DONE 0x4000C008u
#define RESET_ADC (1u << 0)
#define RESET_IO_QSPI (1u << 6)
#define RESET_PADS_QSPI (1u << 9)
#define RESET_PLL_SYS (1u << 12)
#define RESET_PLL_USB (1u << 13)
#define RESET_RTC (1u << 15)
#define RESET_SPI0 (1u << 16)
#define RESET_SPI1 (1u << 17)
#define RESET_SYSCFG (1u << 18)
#define RESET_UART0 (1u << 22)
#define RESET_UART1 (1u << 23)
#define RESET_USBCTRL (1u << 24)
#define RESETS_ALL 0x01FFFFFFu

/* 2.16.7 XOSC */
#define XOSC_CTRL 0x40024000u	 /* FREQ_RANGE [11:0] 0xaa0 = 1-15 MHz, ENABLE [23:12] 0xfab */
#define XOSC_STATUS 0x40024004u	 /* STABLE bit 31 */
#define XOSC_STARTUP 0x4002400Cu /* DELAY [13:0], in 256-cycle units */

/* 2.18.4 PLL_SYS at 0x40028000, PLL_USB at 0x4002C000 */
#define PLL_SYS 0x40028000u
#define PLL_USB 0x4002C000u
#define PLL_CS 0x0u	   /* REFDIV [5:0], LOCK bit 31 */
#define PLL_PWR 0x4u	   /* PD bit 0, DSMPD bit 2, POSTDIVPD bit 3, VCOPD bit 5 */
#define PLL_FBDIV_INT 0x8u
#define PLL_PRIM 0xCu	   /* POSTDIV1 [18:16], POSTDIV2 [14:12] */

/* 2.15.7 CLOCKS: each clock is CTRL, DIV, SELECTED (12 bytes) from 0x40008000. */
#define CLOCKS 0x40008000u
#define CLK_REF 4u
#define CLK_SYS 5u
#define CLK_PERI 6u
#define CLK_USB 7u
#define CLK_CTRL(i) (CLOCKS + (i) * 12u)
#define CLK_DIV(i) (CLOCKS + (i) * 12u + 4u)
#define CLK_SELECTED(i) (CLOCKS + (i) * 12u + 8u) /* one-hot: bit n = source n selected */
#define CLK_SYS_RESUS_CTRL 0x40008078u
#define CLK_ENABLE (1u << 11)

/* 4.7.6 WATCHDOG TICK: ENABLE bit 9, CYCLES [8:0] (clk_ref cycles per 1 us tick) */
#define WATCHDOG_TICK 0x4005802Cu

/* 4.6.5 TIMER */
#define TIMER_ALARM0 0x40054010u
#define TIMER_ARMED 0x40054020u
#define TIMER_TIMERAWH 0x40054024u
#define TIMER_TIMERAWL 0x40054028u
#define TIMER_INTR 0x40054034u /* write 1 to clear */
#define TIMER_INTE 0x40054038u
#define TIMER_IRQ_0 0u

/* 4.2.8 UART0 (PL011) and 2.19.6.1 IO_BANK0 GPIO0_CTRL (FUNCSEL 2 = UART0 TX) */
#define UART0_DR 0x40034000u
#define UART0_FR 0x40034018u	 /* TXFF bit 5 */
#define UART0_IBRD 0x40034024u
#define UART0_FBRD 0x40034028u
#define UART0_LCR_H 0x4003402Cu /* WLEN [6:5] = 3 (8 bits), FEN bit 4 */
#define UART0_CR 0x40034030u	 /* UARTEN bit 0, TXE bit 8, RXE bit 9 */
#define IO_BANK0_GPIO0_CTRL 0x40014004u

volatile uint32_t runtime_timerInterrupts GO("runtime.timerInterrupts");
static volatile uint32_t timerWakeup GO("machine.timerWakeup");

/* TinyGo's runtime/volatile accessors, out of line as in public TinyGo Pico builds (0.24
 * and later): the start-up polls load through two calls (HasBits -> Get), and HasBits is
 * true when ANY of the bits is set, so unresetBlockWait leaves when one block is out of
 * reset (the pico-sdk waits for all of them). */
NOINLINE static uint32_t regGet(uint32_t addr) GO("(*runtime/volatile.Register32).Get");
static uint32_t regGet(uint32_t addr)
{
	return MMIO32(addr);
}

NOINLINE static uint32_t regHasBits(uint32_t addr, uint32_t bits)
	GO("(*runtime/volatile.Register32).HasBits");
static uint32_t regHasBits(uint32_t addr, uint32_t bits)
{
	return (regGet(addr) & bits) != 0;
}

static void resetBlock(uint32_t bits) GO("machine.resetBlock");
static void resetBlock(uint32_t bits)
{
	MMIO32(RESETS_RESET) |= bits;
}

/* Take blocks out of reset and wait until RESET_DONE shows one of them (TinyGo's HasBits). */
NOINLINE static void unresetBlockWait(uint32_t bits) GO("machine.unresetBlockWait");
static void unresetBlockWait(uint32_t bits)
{
	MMIO32(RESETS_RESET) &= ~bits;
	while (!regHasBits(RESETS_RESET_DONE, bits))
		;
}

NOINLINE static void xoscInit(void) GO("(*machine.xoscType).init");
static void xoscInit(void)
{
	MMIO32(XOSC_CTRL) = 0xAA0;		 /* FREQ_RANGE 1_15MHZ */
	MMIO32(XOSC_STARTUP) = ((12000000 / 1000) + 128) / 256 * 64; /* ~1 ms x 64 */
	MMIO32(XOSC_CTRL) |= 0xFABu << 12;	 /* ENABLE */
	while (!regHasBits(XOSC_STATUS, 1u << 31)) /* STABLE */
		;
}

NOINLINE static void pllInit(uint32_t pll, uint32_t reset, uint32_t fbdiv, uint32_t post1,
			     uint32_t post2) GO("(*machine.pll).init");
static void pllInit(uint32_t pll, uint32_t reset, uint32_t fbdiv, uint32_t post1, uint32_t post2)
{
	resetBlock(reset);
	unresetBlockWait(reset);
	MMIO32(pll + PLL_CS) = 1; /* REFDIV 1 */
	MMIO32(pll + PLL_FBDIV_INT) = fbdiv;
	MMIO32(pll + PLL_PWR) &= ~((1u << 0) | (1u << 5)); /* power up PLL and VCO */
	while (!regHasBits(pll + PLL_CS, 1u << 31))	    /* LOCK */
		;
	MMIO32(pll + PLL_PRIM) = (post1 << 16) | (post2 << 12);
	MMIO32(pll + PLL_PWR) &= ~(1u << 3); /* POSTDIVPD */
}

/* Switch a glitchless clock (clk_ref, clk_sys) to source src; wait until SELECTED says so. */
NOINLINE static void clockSelect(uint32_t clk, uint32_t src, uint32_t auxsrc, uint32_t div)
	GO("(*machine.clock).configure");
static void clockSelect(uint32_t clk, uint32_t src, uint32_t auxsrc, uint32_t div)
{
	if (div > MMIO32(CLK_DIV(clk)))
		MMIO32(CLK_DIV(clk)) = div;
	if (clk == CLK_SYS && src == 1) {
		/* leave the aux mux while it changes: select clk_ref first */
		MMIO32(CLK_CTRL(clk)) &= ~3u;
		while (!regHasBits(CLK_SELECTED(clk), 1u))
			;
	}
	MMIO32(CLK_CTRL(clk)) = (MMIO32(CLK_CTRL(clk)) & ~(7u << 5)) | (auxsrc << 5);
	MMIO32(CLK_CTRL(clk)) = (MMIO32(CLK_CTRL(clk)) & ~3u) | src;
	while (!regHasBits(CLK_SELECTED(clk), 1u << src))
		;
	MMIO32(CLK_DIV(clk)) = div;
}

/* An aux-only clock (clk_peri, clk_usb): stop, choose the source, enable. */
static void clockAux(uint32_t clk, uint32_t auxsrc) GO("(*machine.clock).configureAux");
static void clockAux(uint32_t clk, uint32_t auxsrc)
{
	MMIO32(CLK_CTRL(clk)) &= ~CLK_ENABLE;
	MMIO32(CLK_CTRL(clk)) = (auxsrc << 5) | CLK_ENABLE;
	MMIO32(CLK_DIV(clk)) = 1u << 8;
}

NOINLINE static void clocksInit(void) GO("(*machine.clocksType).init");
static void clocksInit(void)
{
	MMIO32(WATCHDOG_TICK) = (1u << 9) | 12; /* 1 us tick for TIMER from the 12 MHz clk_ref */
	MMIO32(CLK_SYS_RESUS_CTRL) = 0;
	xoscInit();
	/* clk_sys and clk_ref back to their glitchless defaults while the PLLs change */
	MMIO32(CLK_CTRL(CLK_SYS)) &= ~1u;
	while (!regHasBits(CLK_SELECTED(CLK_SYS), 1u))
		;
	MMIO32(CLK_CTRL(CLK_REF)) &= ~3u;
	while (!regHasBits(CLK_SELECTED(CLK_REF), 1u))
		;
	pllInit(PLL_SYS, RESET_PLL_SYS, 125, 6, 2); /* 12 MHz x 125 = 1500 MHz VCO */
	pllInit(PLL_USB, RESET_PLL_USB, 40, 5, 2);  /* 12 MHz x 40 = 480 MHz VCO */
	clockSelect(CLK_REF, 2, 0, 1u << 8);	    /* SRC 2 = xosc_clksrc */
	clockSelect(CLK_SYS, 1, 0, 1u << 8);	    /* SRC 1 = aux, AUXSRC 0 = pll_sys */
	clockAux(CLK_USB, 0);			    /* AUXSRC 0 = pll_usb */
	clockAux(CLK_PERI, 0);			    /* AUXSRC 0 = clk_sys */
}

static void uartInit0(void) GO("machine.InitSerial");
static void uartInit0(void)
{
	/* 115200 baud: 8 * 125 MHz / 115200 = 8680 -> IBRD 67, FBRD 52 */
	MMIO32(UART0_IBRD) = 67;
	MMIO32(UART0_FBRD) = 52;
	MMIO32(UART0_LCR_H) = (3u << 5) | (1u << 4);
	MMIO32(UART0_CR) = (1u << 0) | (1u << 8) | (1u << 9);
	MMIO32(IO_BANK0_GPIO0_CTRL) = 2; /* GP0 = UART0 TX */
}

/* TinyGo: machineInit, then the console. */
void runtime_init(void)
{
	resetBlock(~(RESET_IO_QSPI | RESET_PADS_QSPI | RESET_PLL_USB | RESET_USBCTRL | RESET_SYSCFG |
		     RESET_PLL_SYS));
	unresetBlockWait(RESETS_ALL & ~(RESET_ADC | RESET_RTC | RESET_SPI0 | RESET_SPI1 | RESET_UART0 |
					RESET_UART1 | RESET_USBCTRL));
	clocksInit();
	unresetBlockWait(RESETS_ALL);
	uartInit0();
	nvicEnable(TIMER_IRQ_0, 0xC0);
}

void runtime_putchar(char c)
{
	while (MMIO32(UART0_FR) & (1u << 5)) /* TXFF */
		;
	MMIO32(UART0_DR) = (uint8_t)c;
}

/* (*machine.timerType).timeElapsed: read TIMERAWH, TIMERAWL, TIMERAWH until stable. */
int64_t runtime_ticks(void)
{
	uint32_t hi = MMIO32(TIMER_TIMERAWH), lo, next;

	for (;;) {
		lo = MMIO32(TIMER_TIMERAWL);
		next = MMIO32(TIMER_TIMERAWH);
		if (next == hi)
			break;
		hi = next;
	}
	return (int64_t)(((uint64_t)hi << 32) | lo);
}

void TIMER_IRQ_0_IRQHandler(void)
{
	MMIO32(TIMER_INTR) = 1u << 0; /* clear ALARM0 */
	timerWakeup = 1;
	runtime_timerInterrupts++;
}

/* (*machine.timerType).lightSleep: arm ALARM0 at TIMERAWL + d, wfe until it fires. */
void runtime_sleepTicks(int64_t d)
{
	int64_t end = runtime_ticks() + d;

	timerWakeup = 0;
	MMIO32(TIMER_INTR) = 1u << 0;
	MMIO32(TIMER_INTE) |= 1u << 0;
	MMIO32(TIMER_ALARM0) = (uint32_t)end; /* arms ALARM0 (compares the low 32 bits) */
	while (!timerWakeup && runtime_ticks() < end)
		runtime_waitForEvents();
	while (runtime_ticks() < end) /* woken early: wait out the rest */
		runtime_waitForEvents();
	MMIO32(TIMER_ARMED) = 1u << 0; /* disarm */
	MMIO32(TIMER_INTE) &= ~(1u << 0);
}

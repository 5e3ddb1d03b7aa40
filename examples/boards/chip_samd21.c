/* chip_samd21.c - ATSAMD21G18 (Arduino Zero, Feather M0) start-up, timer and console,
 * shaped like TinyGo's runtime_atsamd21.go (initClocks with the NVM calibration row,
 * initRTC, timerSleep, ticks).  Registers from the SAM D21/DA1 Family Data Sheet
 * (Microchip DS40001882): chapter names in the comments.
 * Clocks: OSC32K (calibrated from NVM) -> GCLK1 -> DFLL48M, USB clock recovery (48 MHz,
 * coarse value from NVM) -> GCLK0 (the CPU); OSC8M -> GCLK3; OSC32K -> GCLK2 -> RTC.
 * Time: RTC MODE0 32-bit COUNT at 32.768 kHz (a tick is 1/32768 s), COMP0 and OVF ->
 * RTC_IRQHandler (IRQ 3).  Console: SERCOM0 USART, TX only, 115200 from GCLK0.
 */
#include "board.h"

/* NVMCTRL, PM, SYSCTRL, GCLK chapters */
#define NVMCTRL_CTRLB 0x41004004u /* RWS [4:1], MANW bit 7 */
#define PM_CPUSEL 0x40000408u
#define PM_APBASEL 0x40000409u
#define PM_APBBSEL 0x4000040Au
#define PM_APBCSEL 0x4000040Bu
#define PM_APBAMASK 0x40000418u /* GCLK bit 3, RTC bit 5 */
#define PM_APBCMASK 0x40000420u /* SERCOM0 bit 2 */
#define SYSCTRL_PCLKSR 0x4000080Cu /* OSC32KRDY 2, OSC8MRDY 3, DFLLRDY 4 */
#define SYSCTRL_OSC32K 0x40000818u /* ENABLE 1, EN32K 2, EN1K 3, STARTUP [10:8], CALIB [22:16] */
#define SYSCTRL_OSC8M 0x40000820u  /* ONDEMAND 7, PRESC [9:8] */
#define SYSCTRL_DFLLCTRL 0x40000824u /* 16-bit: ENABLE 1, MODE 2, USBCRM 5, CCDIS 8, BPLCKC 10 */
#define SYSCTRL_DFLLVAL 0x40000828u  /* FINE [9:0], COARSE [15:10] */
#define SYSCTRL_DFLLMUL 0x4000082Cu  /* MUL [15:0], FSTEP [25:16], CSTEP [31:26] */
#define PCLKSR_OSC32KRDY (1u << 2)
#define PCLKSR_OSC8MRDY (1u << 3)
#define PCLKSR_DFLLRDY (1u << 4)
#define GCLK_CTRL 0x40000C00u	 /* 8-bit: SWRST bit 0 */
#define GCLK_STATUS 0x40000C01u	 /* 8-bit: SYNCBUSY bit 7 */
#define GCLK_CLKCTRL 0x40000C02u /* 16-bit: ID [5:0], GEN [11:8], CLKEN bit 14 */
#define GCLK_GENCTRL 0x40000C04u /* ID [3:0], SRC [12:8], GENEN 16, IDC 17 */
#define GCLK_GENDIV 0x40000C08u	 /* ID [3:0], DIV [23:8] */
#define SRC_OSC32K 4u
#define SRC_OSC8M 6u
#define SRC_DFLL48M 7u
#define GENEN (1u << 16)
#define IDC (1u << 17)
#define CLKEN (1u << 14)
#define CLK_DFLL48 0x00u
#define CLK_RTC 0x04u
#define CLK_SERCOM0_CORE 0x14u

/* NVM Software Calibration Area (NVM User Row mapping, 0x00806020): OSC32K CAL bits
 * [44:38], DFLL48M COARSE CAL bits [63:58]: both in the word at 0x00806024. */
#define NVM_CALIB_HIGH 0x00806024u

/* RTC chapter, mode 0 */
#define RTC_CTRL 0x40001400u	 /* 16-bit: SWRST 0, ENABLE 1, MODE [3:2], PRESCALER [11:8] */
#define RTC_READREQ 0x40001402u /* 16-bit: RREQ bit 15, ADDR [5:0] (0x10 = COUNT) */
#define RTC_INTENCLR 0x40001406u /* 8-bit: CMP0 bit 0, OVF bit 7 */
#define RTC_INTENSET 0x40001407u
#define RTC_INTFLAG 0x40001408u
#define RTC_STATUS 0x4000140Au	 /* 8-bit: SYNCBUSY bit 7 */
#define RTC_COUNT 0x40001410u
#define RTC_COMP0 0x40001418u
#define RTC_CMP0 (1u << 0)
#define RTC_OVF (1u << 7)
#define IRQ_RTC 3u

/* SERCOM USART chapter (SERCOM0 at 0x42000800) */
#define SERCOM0 0x42000800u
#define USART_CTRLA (SERCOM0 + 0x00u)	 /* SWRST 0, ENABLE 1, MODE [4:2] = 1, TXPO [17:16], DORD 30 */
#define USART_CTRLB (SERCOM0 + 0x04u)	 /* TXEN bit 16 */
#define USART_BAUD (SERCOM0 + 0x0Cu)
#define USART_INTFLAG (SERCOM0 + 0x18u) /* DRE bit 0 */
#define USART_SYNCBUSY (SERCOM0 + 0x1Cu) /* SWRST 0, ENABLE 1, CTRLB 2 */
#define USART_DATA (SERCOM0 + 0x28u)


/* GCLK writes synchronise into the GCLK domain: wait while STATUS.SYNCBUSY is set. */
static void waitForSync(void) GO("runtime.waitForSync");
static void waitForSync(void)
{
	while (MMIO8(GCLK_STATUS) & 0x80u)
		;
}

/* The RTC's own write/read synchronisation (RTC STATUS.SYNCBUSY).  TinyGo waits on
 * GCLK STATUS here instead; the datasheet names this bit. */
static void rtcSync(void) GO("runtime.rtcSync");
static void rtcSync(void)
{
	while (MMIO8(RTC_STATUS) & 0x80u)
		;
}

static void gclkGen(uint32_t id, uint32_t src, uint32_t div, uint32_t flags)
	GO("runtime.gclkGen");
static void gclkGen(uint32_t id, uint32_t src, uint32_t div, uint32_t flags)
{
	MMIO32(GCLK_GENDIV) = id | (div << 8);
	waitForSync();
	MMIO32(GCLK_GENCTRL) = id | (src << 8) | GENEN | flags;
	waitForSync();
}

static void gclkConnect(uint32_t clk, uint32_t gen) GO("runtime.gclkConnect");
static void gclkConnect(uint32_t clk, uint32_t gen)
{
	MMIO16(GCLK_CLKCTRL) = (uint16_t)(clk | (gen << 8) | CLKEN);
	waitForSync();
}

NOINLINE static void initClocks(void) GO("runtime.initClocks");
static void initClocks(void)
{
	uint32_t fuse = *(const volatile uint32_t *)NVM_CALIB_HIGH;
	uint32_t calib = (fuse >> 6) & 0x7Fu, coarse = (fuse >> 26) & 0x3Fu;

	MMIO32(NVMCTRL_CTRLB) |= 1u << 1; /* RWS = 1 (half) wait state at 48 MHz */
	MMIO32(PM_APBAMASK) |= 1u << 3;	   /* GCLK */
	MMIO32(PM_APBAMASK) &= ~(1u << 5); /* RTC off while its clock changes */

	MMIO32(SYSCTRL_OSC32K) = (calib << 16) | (6u << 8) | (1u << 3) | (1u << 2) | (1u << 1);
	while (!(MMIO32(SYSCTRL_PCLKSR) & PCLKSR_OSC32KRDY))
		;

	MMIO8(GCLK_CTRL) = 1; /* SWRST: wait while it and SYNCBUSY are set */
	while ((MMIO8(GCLK_CTRL) & 1u) && (MMIO8(GCLK_STATUS) & 0x80u))
		;

	gclkGen(1, SRC_OSC32K, 0, 0);
	gclkConnect(CLK_DFLL48, 1);

	/* DFLL48M: enable (errata: before writing the other registers), then closed loop */
	MMIO16(SYSCTRL_DFLLCTRL) = 1u << 1;
	while (!(MMIO32(SYSCTRL_PCLKSR) & PCLKSR_DFLLRDY))
		;
	if (coarse == 0x3F)
		coarse = 0x1F;
	MMIO32(SYSCTRL_DFLLVAL) |= coarse << 10;
	MMIO32(SYSCTRL_DFLLVAL) |= 0x1FFu;
	MMIO32(SYSCTRL_DFLLMUL) = ((31u / 4) << 26) | (10u << 16) | 48000u; /* x48000 of the 1 kHz USB SOF (USBCRM) */
	MMIO16(SYSCTRL_DFLLCTRL) = 0;
	waitForSync();
	MMIO16(SYSCTRL_DFLLCTRL) |= (1u << 2) | (1u << 8) | (1u << 5) | (1u << 10); /* MODE CCDIS USBCRM BPLCKC */
	while (!(MMIO32(SYSCTRL_PCLKSR) & PCLKSR_DFLLRDY))
		;
	MMIO16(SYSCTRL_DFLLCTRL) |= 1u << 1; /* ENABLE */
	while (!(MMIO32(SYSCTRL_PCLKSR) & PCLKSR_DFLLRDY))
		;

	gclkGen(0, SRC_DFLL48M, 0, IDC); /* the CPU at 48 MHz */

	MMIO32(SYSCTRL_OSC8M) &= ~(3u << 8);  /* PRESC 1 */
	MMIO32(SYSCTRL_OSC8M) &= ~(1u << 7);  /* not on demand */
	while (!(MMIO32(SYSCTRL_PCLKSR) & PCLKSR_OSC8MRDY))
		;
	gclkGen(3, SRC_OSC8M, 0, 0);
	gclkGen(2, SRC_OSC32K, 0, 0);
	gclkConnect(CLK_RTC, 2);

	MMIO8(PM_CPUSEL) = 0;
	MMIO8(PM_APBASEL) = 0;
	MMIO8(PM_APBBSEL) = 0;
	MMIO8(PM_APBCSEL) = 0;
	MMIO32(NVMCTRL_CTRLB) |= 1u << 7; /* MANW */
}

NOINLINE static void initRTC(void) GO("runtime.initRTC");
static void initRTC(void)
{
	MMIO32(PM_APBAMASK) |= 1u << 5;
	MMIO16(RTC_CTRL) = 0;
	rtcSync();
	MMIO16(RTC_CTRL) |= 1u << 0; /* SWRST */
	rtcSync();
	MMIO16(RTC_CTRL) = (0u << 2) | (0u << 8); /* COUNT32, DIV1 */
	rtcSync();
	MMIO16(RTC_CTRL) |= 1u << 1; /* ENABLE */
	rtcSync();
	MMIO8(RTC_INTENSET) = RTC_OVF;
	nvicEnable(IRQ_RTC, 0xC0);
}

static void initSerial(void) GO("machine.InitSerial");
static void initSerial(void)
{
	MMIO32(PM_APBCMASK) |= 1u << 2;
	gclkConnect(CLK_SERCOM0_CORE, 0);
	MMIO32(USART_CTRLA) = 1u << 0; /* SWRST */
	while (MMIO32(USART_SYNCBUSY) & 1u)
		;
	MMIO32(USART_CTRLA) = (1u << 2) | (1u << 30) | (1u << 16); /* internal clock, LSB first, TXPO 1 */
	MMIO16(USART_BAUD) = 63019;				    /* 65536 * (1 - 16 * 115200 / 48 MHz) */
	MMIO32(USART_CTRLB) = 1u << 16;
	while (MMIO32(USART_SYNCBUSY) & (1u << 2))
		;
	MMIO32(USART_CTRLA) |= 1u << 1;
	while (MMIO32(USART_SYNCBUSY) & (1u << 1))
		;
}

void runtime_init(void)
{
	initClocks();
	initRTC();
	initSerial();
}

void runtime_putchar(char c)
{
	while (!(MMIO8(USART_INTFLAG) & 1u)) /* until DRE */
		;
	MMIO16(USART_DATA) = (uint8_t)c;
}

/* COUNT needs a read request, then a sync wait, before it is valid. */
static uint32_t readRTC(void) GO("runtime.readRTC");
static uint32_t readRTC(void)
{
	MMIO16(RTC_READREQ) = (uint16_t)((1u << 15) | 0x10u);
	rtcSync();
	return MMIO32(RTC_COUNT);
}

#define RTC_FLAGS MMIO8(RTC_INTFLAG)
#define RTC_ENSET MMIO8(RTC_INTENSET)
#define RTC_ENCLR MMIO8(RTC_INTENCLR)
#define RTC_MIN_SLEEP 7
#define rtcCompSync() rtcSync()
#include "sam_rtc.h"

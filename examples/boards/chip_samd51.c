/* chip_samd51.c - Wio Terminal (ATSAMD51P19) start-up, timer and console, shaped like
 * TinyGo's runtime_atsamd51.go (initClocks, initRTC, timerSleep, ticks) and the NVM
 * calibration read of its USB set-up.  Registers from the SAM D5x/E5x Family Data Sheet
 * (Microchip DS60001507): chapter names in the comments.
 * Clocks: DFLL48M open loop -> GCLK1 (48 MHz) and GCLK7 (2 MHz) -> DPLL0 x60 = 120 MHz on
 * GCLK0 (the CPU); DPLL1 x50 = 100 MHz.  Time: RTC MODE0 32-bit COUNT at 32.768 kHz from
 * OSCULP32K (a tick is 1/32768 s), COMP0 and OVF -> RTC_IRQHandler (IRQ 11).
 * Console: SERCOM2 USART, TX only, 115200 baud from GCLK1.
 */
#include "board.h"

/* NVMCTRL chapter, register summary */
#define NVMCTRL_CTRLA 0x41004000u /* 16-bit: WMODE [5:4], RWS [11:8] */

/* GCLK chapter */
#define GCLK_CTRLA 0x40001C00u	  /* SWRST bit 0 */
#define GCLK_SYNCBUSY 0x40001C04u /* SWRST bit 0, GENCTRLn bit n+2 */
#define GCLK_GENCTRL(n) (0x40001C20u + 4u * (n))
#define GCLK_PCHCTRL(m) (0x40001C80u + 4u * (m))
#define GENCTRL_SRC_OSCULP32K 4u
#define GENCTRL_SRC_DFLL 6u
#define GENCTRL_SRC_DPLL0 7u
#define GENCTRL_GENEN (1u << 8)
#define GENCTRL_IDC (1u << 9)
#define GENCTRL_DIVSEL (1u << 12)
#define PCHCTRL_CHEN (1u << 6)
#define PCH_FDPLL0 1u
#define PCH_FDPLL1 2u
#define PCH_SERCOM2_CORE 23u

/* OSCCTRL chapter */
#define OSCCTRL_STATUS 0x40001010u	/* DFLLRDY bit 8 */
#define OSCCTRL_DFLLCTRLA 0x4000101Cu	/* 8-bit: ENABLE bit 1 */
#define OSCCTRL_DFLLCTRLB 0x40001020u	/* 8-bit: USBCRM 3, CCDIS 4, WAITLOCK 7 */
#define OSCCTRL_DFLLVAL 0x40001024u
#define OSCCTRL_DFLLMUL 0x40001028u	/* MUL [15:0], FSTEP [23:16], CSTEP [31:26] */
#define OSCCTRL_DFLLSYNC 0x4000102Cu	/* 8-bit: ENABLE 1, DFLLCTRLB 2, DFLLVAL 3, DFLLMUL 4 */
#define DPLL(n) (0x40001030u + 0x14u * (n))
#define DPLLCTRLA 0x0u			/* 8-bit: ENABLE bit 1 */
#define DPLLRATIO 0x4u			/* LDR [12:0], LDRFRAC [20:16] */
#define DPLLCTRLB 0x8u			/* REFCLK [7:5] (0 = GCLK), LBYPASS bit 11 */
#define DPLLSYNCBUSY 0xCu		/* ENABLE 1, DPLLRATIO 2 */
#define DPLLSTATUS 0x10u		/* LOCK bit 0, CLKRDY bit 1 */

/* MCLK, OSC32KCTRL and SUPC chapters */
#define MCLK_CPUDIV 0x40000805u
#define MCLK_APBAMASK 0x40000814u /* RTC bit 9 */
#define MCLK_APBBMASK 0x40000818u /* SERCOM2 bit 9 */
#define OSC32KCTRL_RTCCTRL 0x40001410u	 /* RTCSEL [2:0]: 1 = ULP32K */
#define OSC32KCTRL_OSCULP32K 0x4000141Cu /* EN32K bit 1 */
#define SUPC_VREG 0x40001818u		 /* SEL bit 2 */

/* RTC chapter, mode 0 (32-bit counter) */
#define RTC_CTRLA 0x40002400u	 /* 16-bit: SWRST 0, ENABLE 1, MODE [3:2], PRESCALER [11:8], COUNTSYNC 15 */
#define RTC_INTENCLR 0x40002408u /* 16-bit */
#define RTC_INTENSET 0x4000240Au /* 16-bit: CMP0 bit 8, OVF bit 15 */
#define RTC_INTFLAG 0x4000240Cu	 /* 16-bit, write 1 to clear */
#define RTC_SYNCBUSY 0x40002410u /* SWRST 0, ENABLE 1, COUNT 3, COMP0 5 */
#define RTC_COUNT 0x40002418u
#define RTC_COMP0 0x40002420u
#define RTC_CMP0 (1u << 8)
#define RTC_OVF (1u << 15)
#define IRQ_RTC 11u

/* NVM Software Calibration Area mapping (0x00800080): USB TRANSN [36:32], TRANSP [41:37],
 * TRIM [44:42]; USB chapter, PADCAL (16-bit): TRANSP [4:0], TRANSN [10:6], TRIM [14:12]. */
#define NVM_SW_CALIB 0x00800080u
#define USB_PADCAL 0x41000028u

/* SERCOM USART chapter (SERCOM2 at 0x41012000) */
#define SERCOM2 0x41012000u
#define USART_CTRLA (SERCOM2 + 0x00u)	 /* SWRST 0, ENABLE 1, MODE [4:2] = 1 (internal clock), DORD 30 */
#define USART_CTRLB (SERCOM2 + 0x04u)	 /* TXEN bit 16 */
#define USART_BAUD (SERCOM2 + 0x0Cu)	 /* 16-bit */
#define USART_INTFLAG (SERCOM2 + 0x18u) /* 8-bit: DRE bit 0 */
#define USART_SYNCBUSY (SERCOM2 + 0x1Cu) /* SWRST 0, ENABLE 1, CTRLB 2 */
#define USART_DATA (SERCOM2 + 0x28u)

uint16_t machine_usbPadcal GO("machine.usbPadcal");

/* Wait while any of `bits` is set in a SYNCBUSY register (the SAMD51's write sync). */
static void syncWait(uint32_t reg, uint32_t bits) GO("runtime.syncWait");
static void syncWait(uint32_t reg, uint32_t bits)
{
	while (MMIO32(reg) & bits)
		;
}

NOINLINE static void initClocks(void) GO("runtime.initClocks");
static void initClocks(void)
{
	MMIO16(NVMCTRL_CTRLA) |= 0u << 8; /* RWS 0, as TinyGo (it writes the same value back) */

	MMIO8(GCLK_CTRLA) = 1; /* SWRST */
	syncWait(GCLK_SYNCBUSY, 1u << 0);

	MMIO32(GCLK_GENCTRL(3)) = GENCTRL_SRC_OSCULP32K | GENCTRL_GENEN;
	syncWait(GCLK_SYNCBUSY, 1u << (2 + 3));
	MMIO32(GCLK_GENCTRL(0)) = GENCTRL_SRC_OSCULP32K | GENCTRL_GENEN;
	syncWait(GCLK_SYNCBUSY, 1u << (2 + 0));

	/* DFLL48M in open loop */
	MMIO8(OSCCTRL_DFLLCTRLA) = 0;
	MMIO32(OSCCTRL_DFLLMUL) = (1u << 26) | (1u << 16); /* CSTEP 1, FSTEP 1, MUL 0 */
	while (MMIO8(OSCCTRL_DFLLSYNC) & (1u << 4))	   /* DFLLMUL */
		;
	MMIO8(OSCCTRL_DFLLCTRLB) = 0;
	while (MMIO8(OSCCTRL_DFLLSYNC) & (1u << 2)) /* DFLLCTRLB */
		;
	MMIO8(OSCCTRL_DFLLCTRLA) |= 1u << 1; /* ENABLE */
	while (MMIO8(OSCCTRL_DFLLSYNC) & (1u << 1))
		;
	MMIO32(OSCCTRL_DFLLVAL) = MMIO32(OSCCTRL_DFLLVAL);
	while (MMIO8(OSCCTRL_DFLLSYNC) & (1u << 3)) /* DFLLVAL */
		;
	MMIO8(OSCCTRL_DFLLCTRLB) = (1u << 7) | (1u << 4) | (1u << 3); /* WAITLOCK CCDIS USBCRM */
	while (!(MMIO32(OSCCTRL_STATUS) & (1u << 8)))		       /* until DFLLRDY */
		;

	/* GCLK7 = DFLL / 24 = 2 MHz, the DPLLs' reference */
	MMIO32(GCLK_GENCTRL(7)) = GENCTRL_SRC_DFLL | (24u << 16) | GENCTRL_GENEN;
	syncWait(GCLK_SYNCBUSY, 1u << (2 + 7));

	/* DPLL0: 2 MHz x (59 + 1) = 120 MHz; wait until CLKRDY and LOCK */
	MMIO32(GCLK_PCHCTRL(PCH_FDPLL0)) = PCHCTRL_CHEN | 7u;
	MMIO32(DPLL(0) + DPLLRATIO) = 59;
	while (MMIO32(DPLL(0) + DPLLSYNCBUSY) & (1u << 2))
		;
	MMIO32(DPLL(0) + DPLLCTRLB) = (0u << 5) | (1u << 11); /* REFCLK GCLK, LBYPASS */
	MMIO8(DPLL(0) + DPLLCTRLA) = 1u << 1;
	while ((MMIO32(DPLL(0) + DPLLSTATUS) & 3u) != 3u)
		;

	/* DPLL1: 2 MHz x 50 = 100 MHz (not waited for, as TinyGo) */
	MMIO32(GCLK_PCHCTRL(PCH_FDPLL1)) = PCHCTRL_CHEN | 7u;
	MMIO32(DPLL(1) + DPLLRATIO) = 49;
	while (MMIO32(DPLL(1) + DPLLSYNCBUSY) & (1u << 2))
		;
	MMIO32(DPLL(1) + DPLLCTRLB) = (0u << 5) | (1u << 11);
	MMIO8(DPLL(1) + DPLLCTRLA) = 1u << 1;

	MMIO32(GCLK_GENCTRL(1)) = GENCTRL_SRC_DFLL | GENCTRL_IDC | GENCTRL_GENEN; /* 48 MHz */
	syncWait(GCLK_SYNCBUSY, 1u << (2 + 1));
	MMIO32(GCLK_GENCTRL(4)) = GENCTRL_SRC_DFLL | GENCTRL_IDC | GENCTRL_DIVSEL | (4u << 16) |
				  GENCTRL_GENEN; /* 48 MHz / 2^5 */
	syncWait(GCLK_SYNCBUSY, 1u << (2 + 4));
	MMIO32(GCLK_GENCTRL(0)) = GENCTRL_SRC_DPLL0 | GENCTRL_IDC | GENCTRL_GENEN; /* CPU 120 MHz */
	syncWait(GCLK_SYNCBUSY, 1u << (2 + 0));

	MMIO8(MCLK_CPUDIV) = 1; /* DIV1 */
	MMIO32(SUPC_VREG) &= ~(1u << 2); /* LDO */
	MMIO16(NVMCTRL_CTRLA) = (uint16_t)((MMIO16(NVMCTRL_CTRLA) & ~(3u << 4)) | (0u << 4)); /* WMODE MAN */
}

NOINLINE static void initRTC(void) GO("runtime.initRTC");
static void initRTC(void)
{
	MMIO32(MCLK_APBAMASK) |= 1u << 9;
	MMIO16(RTC_CTRLA) &= ~(1u << 1); /* disable */
	syncWait(RTC_SYNCBUSY, 1u << 1);
	MMIO16(RTC_CTRLA) |= 1u << 0; /* SWRST */
	syncWait(RTC_SYNCBUSY, 1u << 0);
	MMIO32(OSC32KCTRL_OSCULP32K) |= 1u << 1; /* EN32K */
	MMIO8(OSC32KCTRL_RTCCTRL) = 1;		 /* RTCSEL ULP32K */
	MMIO16(RTC_CTRLA) = (0u << 2) | (1u << 8) | (1u << 15); /* COUNT32, DIV1, COUNTSYNC */
	MMIO16(RTC_CTRLA) |= 1u << 1;				/* ENABLE */
	syncWait(RTC_SYNCBUSY, 1u << 1);
	MMIO16(RTC_INTENSET) = RTC_OVF;
	nvicEnable(IRQ_RTC, 0xC0);
}

/* TinyGo's USB set-up: pad calibration from the NVM software calibration area (the value
 * 0x1f / 7 means "not calibrated": use the datasheet defaults 9, 25, 6). */
static void initUSBPads(void) GO("machine.initUSBPads");
static void initUSBPads(void)
{
	uint32_t w = *(const volatile uint32_t *)(NVM_SW_CALIB + 4);
	uint32_t transn = w & 0x1Fu, transp = (w >> 5) & 0x1Fu, trim = (w >> 10) & 7u;

	if (transn == 0x1F)
		transn = 9;
	if (transp == 0x1F)
		transp = 25;
	if (trim == 7)
		trim = 6;
	machine_usbPadcal = (uint16_t)(transp | (transn << 6) | (trim << 12));
	MMIO16(USB_PADCAL) = machine_usbPadcal;
}

static void initSerial(void) GO("machine.InitSerial");
static void initSerial(void)
{
	MMIO32(MCLK_APBBMASK) |= 1u << 9;
	MMIO32(GCLK_PCHCTRL(PCH_SERCOM2_CORE)) = PCHCTRL_CHEN | 1u; /* GCLK1, 48 MHz */
	MMIO32(USART_CTRLA) = 1u << 0;				     /* SWRST */
	syncWait(USART_SYNCBUSY, 1u << 0);
	MMIO32(USART_CTRLA) = (1u << 2) | (1u << 30); /* internal clock, LSB first */
	MMIO16(USART_BAUD) = 63019;			/* 65536 * (1 - 16 * 115200 / 48 MHz) */
	MMIO32(USART_CTRLB) = 1u << 16;			/* TXEN */
	syncWait(USART_SYNCBUSY, 1u << 2);
	MMIO32(USART_CTRLA) |= 1u << 1; /* ENABLE */
	syncWait(USART_SYNCBUSY, 1u << 1);
}

/* TRNG chapter: machine.GetRNG, called by runtime.initRand to seed the runtime's fastrand
 * (TinyGo 0.37's Wio Terminal build does this before main). */
#define MCLK_APBCMASK 0x4000081Cu /* TRNG bit 10 */
#define TRNG_CTRLA 0x42002800u	  /* 8-bit: ENABLE bit 1 */
#define TRNG_INTFLAG 0x4200280Au  /* 8-bit: DATARDY bit 0 */
#define TRNG_DATA 0x42002820u

uint32_t runtime_randSeed GO("runtime.randSeed");

NOINLINE static uint32_t getRNG(void) GO("machine.GetRNG");
static uint32_t getRNG(void)
{
	MMIO32(MCLK_APBCMASK) |= 1u << 10;
	MMIO8(TRNG_CTRLA) = 1u << 1;
	while (!(MMIO8(TRNG_INTFLAG) & 1u)) /* until DATARDY */
		;
	return MMIO32(TRNG_DATA);
}

void runtime_init(void)
{
	initClocks();
	initRTC();
	initUSBPads();
	initSerial();
	runtime_randSeed = getRNG(); /* runtime.initRand */
}

void runtime_putchar(char c)
{
	while (!(MMIO8(USART_INTFLAG) & 1u)) /* until DRE */
		;
	MMIO32(USART_DATA) = (uint8_t)c;
}

static uint32_t readRTC(void) GO("runtime.readRTC");
static uint32_t readRTC(void)
{
	syncWait(RTC_SYNCBUSY, 1u << 3); /* COUNT */
	return MMIO32(RTC_COUNT);
}

#define RTC_FLAGS MMIO16(RTC_INTFLAG)
#define RTC_ENSET MMIO16(RTC_INTENSET)
#define RTC_ENCLR MMIO16(RTC_INTENCLR)
#define RTC_MIN_SLEEP 8
#define rtcCompSync() syncWait(RTC_SYNCBUSY, 1u << 5) /* COMP0 */
#include "sam_rtc.h"

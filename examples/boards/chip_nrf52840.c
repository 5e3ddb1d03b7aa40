/* chip_nrf52840.c - nRF52840 start-up, timer and console, shaped like TinyGo's
 * runtime_nrf.go (systemInit = nrfx SystemInit, initLFCLK, initRTC, rtc_sleep, ticks) and
 * machine's UARTE WriteByte.  Registers from the nRF52840 Product Specification v1.7
 * (Nordic Semiconductor): chapter names in the comments.
 * Clocks: HFXO started (TASKS_HFCLKSTART, until EVENTS_HFCLKSTARTED), LFXO started
 * (LFCLKSRC = Xtal, TASKS_LFCLKSTART, until EVENTS_LFCLKSTARTED).  Time: RTC1, 24-bit
 * COUNTER at 32.768 kHz (PRESCALER 0; a tick is 1/32768 s), CC[0] compare and OVRFLW ->
 * RTC1_IRQHandler (IRQ 17).  Console: UARTE0 (EasyDMA, one byte per transfer), 115200.
 */
#include "board.h"

/* FICR chapter */
#define FICR_DEVICEID0 0x10000060u
#define FICR_DEVICEID1 0x10000064u
#define FICR_INFO_PART 0x10000100u /* 0x52840 */
#define FICR_INFO_RAM 0x1000010Cu  /* KiB */
#define FICR_ERRATA_PART 0x10000130u /* undocumented, read by nrfx's errata checks: 8 = nRF52840 */

/* CLOCK chapter */
#define CLOCK_TASKS_HFCLKSTART 0x40000000u
#define CLOCK_TASKS_LFCLKSTART 0x40000008u
#define CLOCK_EVENTS_HFCLKSTARTED 0x40000100u
#define CLOCK_EVENTS_LFCLKSTARTED 0x40000104u
#define CLOCK_EVENTS_DONE 0x4000010Cu
#define CLOCK_EVENTS_CTTO 0x40000110u
#define CLOCK_LFCLKSRC 0x40000518u /* 0 RC, 1 Xtal, 2 Synth */
#define CLOCK_CTIV 0x40000538u

/* RTC chapter (RTC1) */
#define RTC1 0x40011000u
#define RTC_TASKS_START (RTC1 + 0x000u)
#define RTC_EVENTS_OVRFLW (RTC1 + 0x104u)
#define RTC_EVENTS_COMPARE0 (RTC1 + 0x140u)
#define RTC_INTENSET (RTC1 + 0x304u) /* OVRFLW bit 1, COMPARE0 bit 16 */
#define RTC_INTENCLR (RTC1 + 0x308u)
#define RTC_COUNTER (RTC1 + 0x504u)  /* 24 bits */
#define RTC_PRESCALER (RTC1 + 0x508u)
#define RTC_CC0 (RTC1 + 0x540u)
#define RTC_OVRFLW (1u << 1)
#define RTC_COMPARE0 (1u << 16)
#define IRQ_RTC1 17u

/* UARTE chapter (UARTE0) */
#define UARTE0 0x40002000u
#define UARTE_TASKS_STARTTX (UARTE0 + 0x008u)
#define UARTE_EVENTS_ENDTX (UARTE0 + 0x120u)
#define UARTE_ENABLE (UARTE0 + 0x500u) /* 8 = UARTE */
#define UARTE_PSEL_TXD (UARTE0 + 0x50Cu)
#define UARTE_PSEL_RXD (UARTE0 + 0x514u)
#define UARTE_BAUDRATE (UARTE0 + 0x524u)
#define UARTE_TXD_PTR (UARTE0 + 0x544u)
#define UARTE_TXD_MAXCNT (UARTE0 + 0x548u)
#define UARTE_CONFIG (UARTE0 + 0x56Cu)

volatile uint32_t runtime_timerInterrupts GO("runtime.timerInterrupts");
static volatile uint32_t rtcOverflows GO("runtime.rtcOverflows");
static volatile uint8_t rtcWakeup GO("runtime.rtc_wakeup");
uint32_t machine_deviceID[2] GO("machine.deviceID");
static volatile uint8_t uarteTxBuf GO("machine.uarteTxBuf"); /* EasyDMA reads RAM only */

/* nrfx SystemInit (system_nrf52840.c): the errata it applies on an nRF52840 read the part
 * code from FICR; errata 36 clears CLOCK's calibration events.  Also read the chip's
 * identity from FICR (TinyGo: machine.DeviceID). */
NOINLINE void SystemInit(void);
void SystemInit(void)
{
	if (MMIO32(FICR_ERRATA_PART) == 8) {
		MMIO32(CLOCK_EVENTS_DONE) = 0;
		MMIO32(CLOCK_EVENTS_CTTO) = 0;
		MMIO32(CLOCK_CTIV) = 0;
	}
	if (MMIO32(FICR_INFO_PART) != 0x52840u || MMIO32(FICR_INFO_RAM) < 256)
		runtime_panic("not an nRF52840 with 256 KiB RAM (FICR)");
	machine_deviceID[0] = MMIO32(FICR_DEVICEID0);
	machine_deviceID[1] = MMIO32(FICR_DEVICEID1);
}

static void initSerial(void) GO("machine.InitSerial");
static void initSerial(void)
{
	MMIO32(UARTE_BAUDRATE) = 0x01D60000u; /* Baud115200 (UARTE value) */
	MMIO32(UARTE_CONFIG) = 0;
	MMIO32(UARTE_PSEL_TXD) = 6;	      /* P0.06 (nRF52840-DK) */
	MMIO32(UARTE_PSEL_RXD) = 8;	      /* P0.08 */
	MMIO32(UARTE_ENABLE) = 8;
}

NOINLINE static void initHFCLK(void) GO("runtime.initHFCLK");
static void initHFCLK(void)
{
	MMIO32(CLOCK_TASKS_HFCLKSTART) = 1;
	while (MMIO32(CLOCK_EVENTS_HFCLKSTARTED) == 0)
		;
	MMIO32(CLOCK_EVENTS_HFCLKSTARTED) = 0;
}

NOINLINE static void initLFCLK(void) GO("runtime.initLFCLK");
static void initLFCLK(void)
{
	MMIO32(CLOCK_LFCLKSRC) = 1; /* Xtal */
	MMIO32(CLOCK_TASKS_LFCLKSTART) = 1;
	while (MMIO32(CLOCK_EVENTS_LFCLKSTARTED) == 0)
		;
	MMIO32(CLOCK_EVENTS_LFCLKSTARTED) = 0;
}

NOINLINE static void initRTC(void) GO("runtime.initRTC");
static void initRTC(void)
{
	MMIO32(RTC_PRESCALER) = 0;
	MMIO32(RTC_TASKS_START) = 1;
	MMIO32(RTC_INTENSET) = RTC_OVRFLW;
	nvicEnable(IRQ_RTC1, 0xC0);
}

/* RNG chapter: machine.GetRNG (four VALUE bytes, each after EVENTS_VALRDY), called by
 * runtime.initRand to seed the runtime's fastrand. */
#define RNG_TASKS_START 0x4000D000u
#define RNG_TASKS_STOP 0x4000D004u
#define RNG_EVENTS_VALRDY 0x4000D100u
#define RNG_CONFIG 0x4000D504u /* DERCEN bit 0 */
#define RNG_VALUE 0x4000D508u

uint32_t runtime_randSeed GO("runtime.randSeed");

NOINLINE static uint32_t getRNG(void) GO("machine.GetRNG");
static uint32_t getRNG(void)
{
	uint32_t v = 0;

	MMIO32(RNG_CONFIG) = 1;
	MMIO32(RNG_TASKS_START) = 1;
	for (int i = 0; i < 4; i++) {
		while (MMIO32(RNG_EVENTS_VALRDY) == 0)
			;
		MMIO32(RNG_EVENTS_VALRDY) = 0;
		v = (v << 8) | (MMIO32(RNG_VALUE) & 0xFFu);
	}
	MMIO32(RNG_TASKS_STOP) = 1;
	return v;
}

/* TinyGo: main calls systemInit before preinit; init runs InitSerial, initLFCLK, initRTC. */
void runtime_init(void)
{
	SystemInit();
	initSerial();
	initHFCLK();
	initLFCLK();
	initRTC();
	runtime_randSeed = getRNG(); /* runtime.initRand */
}

/* UARTE: one byte by EasyDMA, wait until ENDTX. */
void runtime_putchar(char c)
{
	uarteTxBuf = (uint8_t)c;
	MMIO32(UARTE_TXD_PTR) = (uint32_t)(uintptr_t)&uarteTxBuf;
	MMIO32(UARTE_TXD_MAXCNT) = 1;
	MMIO32(UARTE_TASKS_STARTTX) = 1;
	while (MMIO32(UARTE_EVENTS_ENDTX) == 0)
		;
	MMIO32(UARTE_EVENTS_ENDTX) = 0;
}

int64_t runtime_ticks(void)
{
	for (;;) {
		uint32_t mask = irqDisable();
		uint32_t counter = MMIO32(RTC_COUNTER);
		uint32_t overflows = rtcOverflows;
		uint32_t pending = MMIO32(RTC_EVENTS_OVRFLW);
		irqRestore(mask);
		if (!pending)
			return (int64_t)(((uint64_t)overflows << 24) + counter);
	}
}

void RTC1_IRQHandler(void)
{
	if (MMIO32(RTC_EVENTS_COMPARE0)) {
		MMIO32(RTC_EVENTS_COMPARE0) = 0;
		MMIO32(RTC_INTENCLR) = RTC_COMPARE0;
		rtcWakeup = 1;
	}
	if (MMIO32(RTC_EVENTS_OVRFLW)) {
		MMIO32(RTC_EVENTS_OVRFLW) = 0;
		rtcOverflows++;
	}
	runtime_timerInterrupts++;
}

/* rtc_sleep: CC[0] = COUNTER + d (24 bits), COMPARE0 interrupt on, wfe until it fired. */
void runtime_sleepTicks(int64_t d)
{
	int64_t end = runtime_ticks() + d;

	MMIO32(RTC_INTENSET) = RTC_COMPARE0;
	rtcWakeup = 0;
	if (d < 2)
		d = 2;
	MMIO32(RTC_CC0) = (MMIO32(RTC_COUNTER) + (uint32_t)d) & 0x00FFFFFFu;
	while (!rtcWakeup && runtime_ticks() < end)
		runtime_waitForEvents();
	while (runtime_ticks() < end) /* woken early: wait out the rest */
		runtime_waitForEvents();
}

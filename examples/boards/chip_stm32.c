/* chip_stm32.c - STM32F405 and STM32F103 start-up, timer and console, shaped like
 * TinyGo's runtime_stm32f4.go / runtime_stm32f405.go / runtime_stm32f103.go (initOSC,
 * initCLK) and runtime_stm32_timers.go (a timer's update interrupt counts periods; a
 * compare channel wakes sleepTicks).  Registers: RM0090 rev 19 (STM32F405/407) and RM0008
 * rev 21 (STM32F10x), ST: section numbers in the comments.
 * F405 (Adafruit Feather STM32F405, 12 MHz HSE): PLL M 6, N 168, P 2, Q 7 -> 168 MHz;
 *   FLASH 5 wait states; APB1 42 MHz, TIM3 at 84 MHz -> PSC 83 = 1 MHz (IRQ 29).
 *   USART2 at 42 MHz (APB1).
 * F103 (Blue Pill STM32F103C8, 8 MHz HSE): PLL x9 -> 72 MHz; FLASH 2 wait states; APB1
 *   36 MHz, TIM4 at 72 MHz -> PSC 71 = 1 MHz (IRQ 30).  USART1 at 72 MHz (APB2).
 * Time: a tick is 1 us; the timer counts 0..9999 (ARR), its update interrupt (UIE) adds
 * 10000 ticks; sleepTicks arms CC1 (CC1IE) when the end falls in the current period.
 */
#include "board.h"

#if defined(CHIP_STM32F405)
/* RM0090 7.3 RCC at 0x40023800 */
#define RCC_CR 0x40023800u	/* HSION 0, HSIRDY 1, HSEON 16, HSERDY 17, PLLON 24, PLLRDY 25 */
#define RCC_PLLCFGR 0x40023804u /* PLLM [5:0], PLLN [14:6], PLLP [17:16], PLLSRC 22, PLLQ [27:24] */
#define RCC_CFGR 0x40023808u	/* SW [1:0], SWS [3:2], HPRE [7:4], PPRE1 [12:10], PPRE2 [15:13] */
#define RCC_CIR 0x4002380Cu
#define RCC_AHB1ENR 0x40023830u /* GPIOA 0, CCMDATARAM 20 */
#define RCC_APB1ENR 0x40023840u /* TIM3 1, USART2 17, PWR 28 */
#define PWR_CR 0x40007000u	/* VOS bit 14 (RM0090 5.4.1) */
#define FLASH_ACR 0x40023C00u	/* LATENCY [3:0], PRFTEN 8, ICEN 9, DCEN 10 (RM0090 3.9.1) */
#define GPIOA_MODER 0x40020000u
#define GPIOA_AFRL 0x40020020u
#define TIM 0x40000400u		/* TIM3 (RM0090 18.4) */
#define TIM_IRQ 29u
#define TIM_PSC_VALUE 83u	/* 84 MHz / 84 */
#define USART 0x40004400u	/* USART2 (RM0090 30.6) */
#define USART_BRR_VALUE 365u	/* 42 MHz / 115200 = 364.6 */
#define HSE_STARTUP_TIMEOUT 0x0500u
#elif defined(CHIP_STM32F103)
/* RM0008 7.3 RCC at 0x40021000 */
#define RCC_CR 0x40021000u	/* HSION 0, HSIRDY 1, HSEON 16, HSERDY 17, PLLON 24, PLLRDY 25 */
#define RCC_CFGR 0x40021004u	/* SW [1:0], SWS [3:2], PPRE1 [10:8], PPRE2 [13:11], PLLSRC 16, PLLMUL [21:18] */
#define RCC_APB2ENR 0x40021018u /* IOPA 2, USART1 14 */
#define RCC_APB1ENR 0x4002101Cu /* TIM4 2 */
#define FLASH_ACR 0x40022000u	/* LATENCY [2:0], PRFTBE 4 (RM0008 3.3.3) */
#define GPIOA_CRH 0x40010804u
#define TIM 0x40000800u		/* TIM4 (RM0008 15.4) */
#define TIM_IRQ 30u
#define TIM_PSC_VALUE 71u	/* 72 MHz / 72 */
#define USART 0x40013800u	/* USART1 (RM0008 27.6) */
#define USART_BRR_VALUE 625u	/* 72 MHz / 115200 = 625 */
#else
#error "define CHIP_STM32F405 or CHIP_STM32F103"
#endif

#define CR_HSION (1u << 0)
#define CR_HSIRDY (1u << 1)
#define CR_HSEON (1u << 16)
#define CR_HSERDY (1u << 17)
#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)
#define CFGR_SW_PLL 2u
#define CFGR_SWS_MASK (3u << 2)
#define CFGR_SWS_PLL (2u << 2)

/* General-purpose timer (same layout on F1 and F4) */
#define TIM_CR1 (TIM + 0x00u)  /* CEN 0 */
#define TIM_DIER (TIM + 0x0Cu) /* UIE 0, CC1IE 1 */
#define TIM_SR (TIM + 0x10u)   /* UIF 0, CC1IF 1; write 0 to clear */
#define TIM_EGR (TIM + 0x14u)  /* UG 0 */
#define TIM_CNT (TIM + 0x24u)
#define TIM_PSC (TIM + 0x28u)
#define TIM_ARR (TIM + 0x2Cu)
#define TIM_CCR1 (TIM + 0x34u)
#define TIM_UIF (1u << 0)
#define TIM_CC1IF (1u << 1)
#define TIM_CC1IE (1u << 1)
#define TICKS_PER_PERIOD 10000u /* 10 ms of 1 us ticks (TinyGo: TICK_INTR_PERIOD_NS) */

/* USART (same layout on F1 and F4) */
#define USART_SR (USART + 0x00u) /* TXE bit 7 */
#define USART_DR (USART + 0x04u)
#define USART_BRR (USART + 0x08u)
#define USART_CR1 (USART + 0x0Cu) /* UE 13, TE 3, RE 2 */

volatile uint32_t runtime_timerInterrupts GO("runtime.timerInterrupts");
static volatile uint32_t tickCount GO("runtime.tickCount");
static volatile uint8_t timerWakeup GO("runtime.timerWakeup");

#if defined(CHIP_STM32F405)
/* HSE on (with TinyGo's stm32f4 start-up timeout), PLL off and wait for PLLRDY to clear,
 * configure it, on and wait for PLLRDY (runtime_stm32f405.go initOSC). */
NOINLINE static void initOSC(void) GO("runtime.initOSC");
static void initOSC(void)
{
	uint32_t startupCounter = 0;

	MMIO32(RCC_APB1ENR) |= 1u << 28; /* PWREN */
	MMIO32(PWR_CR) |= 1u << 14;	  /* VOS: scale 1 */
	MMIO32(RCC_CR) = CR_HSEON;
	for (;;) {
		startupCounter++;
		if ((MMIO32(RCC_CR) & CR_HSERDY) || startupCounter == HSE_STARTUP_TIMEOUT)
			break;
	}
	if (!(MMIO32(RCC_CR) & CR_HSERDY))
		runtime_panic("HSE did not start");
	MMIO32(RCC_CR) &= ~CR_PLLON;
	while (MMIO32(RCC_CR) & CR_PLLRDY)
		;
	MMIO32(RCC_PLLCFGR) = (1u << 22) | 6u | (168u << 6) | (0u << 16) | (7u << 24);
	MMIO32(RCC_CR) |= CR_PLLON;
	while (!(MMIO32(RCC_CR) & CR_PLLRDY))
		;
}

/* Flash wait states (read back until they show), SW = PLL, wait until SWS == PLL. */
NOINLINE static void initCLK(void) GO("runtime.initCLK");
static void initCLK(void)
{
	MMIO32(FLASH_ACR) = (1u << 8) | (1u << 9) | (1u << 10) | 5u;
	while ((MMIO32(FLASH_ACR) & 0xFu) != 5u)
		;
	MMIO32(RCC_CFGR) |= (5u << 10) | (4u << 13); /* PPRE1 /4, PPRE2 /2, HPRE /1 */
	MMIO32(RCC_CFGR) = (MMIO32(RCC_CFGR) & ~3u) | CFGR_SW_PLL;
	while ((MMIO32(RCC_CFGR) & CFGR_SWS_MASK) != CFGR_SWS_PLL)
		;
	MMIO32(RCC_AHB1ENR) |= 1u << 20; /* CCM data RAM */
}

static void initSerial(void) GO("machine.InitSerial");
static void initSerial(void)
{
	MMIO32(RCC_AHB1ENR) |= 1u << 0;	 /* GPIOA */
	MMIO32(RCC_APB1ENR) |= 1u << 17; /* USART2 */
	MMIO32(GPIOA_MODER) = (MMIO32(GPIOA_MODER) & ~(3u << 4)) | (2u << 4); /* PA2 AF */
	MMIO32(GPIOA_AFRL) = (MMIO32(GPIOA_AFRL) & ~(0xFu << 8)) | (7u << 8);  /* AF7 USART2 */
	MMIO32(USART_BRR) = USART_BRR_VALUE;
	MMIO32(USART_CR1) = (1u << 13) | (1u << 3) | (1u << 2);
}

static void enableTimerClock(void)
{
	MMIO32(RCC_APB1ENR) |= 1u << 1; /* TIM3 */
}
#else
/* runtime_stm32f103.go initCLK: flash 2 WS, HSE then HSI ready, PLL = HSE x 9, PLLRDY,
 * SW = PLL, wait until the SWS bits show PLL. */
NOINLINE static void initCLK(void) GO("runtime.initCLK");
static void initCLK(void)
{
	MMIO32(FLASH_ACR) |= 2u;	 /* LATENCY WS2 */
	MMIO32(RCC_CFGR) |= 4u << 8;	 /* PPRE1 /2 */
	MMIO32(RCC_CFGR) |= 0u << 11;	 /* PPRE2 /1 */
	MMIO32(RCC_CR) |= CR_HSEON;
	while (!(MMIO32(RCC_CR) & CR_HSERDY))
		;
	MMIO32(RCC_CR) |= CR_HSION;
	while (!(MMIO32(RCC_CR) & CR_HSIRDY))
		;
	MMIO32(RCC_CFGR) |= 1u << 16;	 /* PLLSRC = HSE */
	MMIO32(RCC_CFGR) |= 7u << 18;	 /* PLLMUL x9 */
	MMIO32(RCC_CR) |= CR_PLLON;
	while (!(MMIO32(RCC_CR) & CR_PLLRDY))
		;
	MMIO32(RCC_CFGR) |= CFGR_SW_PLL;
	while (!(MMIO32(RCC_CFGR) & CFGR_SWS_PLL))
		;
}

static void initSerial(void) GO("machine.InitSerial");
static void initSerial(void)
{
	MMIO32(RCC_APB2ENR) |= (1u << 2) | (1u << 14); /* IOPA, USART1 */
	MMIO32(GPIOA_CRH) = (MMIO32(GPIOA_CRH) & ~(0xFu << 4)) | (0xBu << 4); /* PA9 AF push-pull 50 MHz */
	MMIO32(USART_BRR) = USART_BRR_VALUE;
	MMIO32(USART_CR1) = (1u << 13) | (1u << 3) | (1u << 2);
}

static void enableTimerClock(void)
{
	MMIO32(RCC_APB1ENR) |= 1u << 2; /* TIM4 */
}
#endif

/* initTickTimer: 1 MHz count, period 10000, update interrupt. */
NOINLINE static void initTickTimer(void) GO("runtime.initTickTimer");
static void initTickTimer(void)
{
	enableTimerClock();
	MMIO32(TIM_PSC) = TIM_PSC_VALUE;
	MMIO32(TIM_ARR) = TICKS_PER_PERIOD - 1;
	MMIO32(TIM_EGR) = 1u;	/* UG: load PSC */
	MMIO32(TIM_SR) = 0;
	MMIO32(TIM_DIER) = 1u;	/* UIE */
	MMIO32(TIM_CR1) = 1u;	/* CEN */
	nvicEnable(TIM_IRQ, 0xC0);
}

#if defined(CHIP_STM32F405)
/* RM0090 24.4 RNG: machine.GetRNG, called by runtime.initRand to seed the runtime's
 * fastrand (TinyGo has no RNG path for the F103, which has no RNG). */
#define RCC_AHB2ENR 0x40023834u /* RNG bit 6 */
#define RNG_CR 0x50060800u	/* RNGEN bit 2 */
#define RNG_SR 0x50060804u	/* DRDY bit 0 */
#define RNG_DR 0x50060808u

uint32_t runtime_randSeed GO("runtime.randSeed");

NOINLINE static uint32_t getRNG(void) GO("machine.GetRNG");
static uint32_t getRNG(void)
{
	MMIO32(RCC_AHB2ENR) |= 1u << 6;
	MMIO32(RNG_CR) |= 1u << 2;
	while (!(MMIO32(RNG_SR) & 1u)) /* until DRDY */
		;
	return MMIO32(RNG_DR);
}
#endif

void runtime_init(void)
{
#if defined(CHIP_STM32F405)
	initOSC();
#endif
	initCLK();
	initSerial();
	initTickTimer();
#if defined(CHIP_STM32F405)
	runtime_randSeed = getRNG(); /* runtime.initRand */
#endif
}

void runtime_putchar(char c)
{
	while (!(MMIO32(USART_SR) & (1u << 7))) /* TXE */
		;
	MMIO32(USART_DR) = (uint8_t)c;
}

int64_t runtime_ticks(void)
{
	for (;;) {
		uint32_t mask = irqDisable();
		uint32_t counter = MMIO32(TIM_CNT);
		uint32_t periods = tickCount;
		uint32_t pending = MMIO32(TIM_SR) & TIM_UIF;
		irqRestore(mask);
		if (!pending)
			return (int64_t)periods * TICKS_PER_PERIOD + counter;
	}
}

#if defined(CHIP_STM32F405)
void TIM3_IRQHandler(void)
#else
void TIM4_IRQHandler(void)
#endif
{
	uint32_t sr = MMIO32(TIM_SR);

	if (sr & TIM_UIF)
		tickCount++;
	if ((sr & TIM_CC1IF) && (MMIO32(TIM_DIER) & TIM_CC1IE)) {
		MMIO32(TIM_DIER) &= ~TIM_CC1IE;
		timerWakeup = 1;
	}
	MMIO32(TIM_SR) = ~sr; /* rc_w0: clear what was seen */
	runtime_timerInterrupts++;
}

/* timerSleep: if the end falls in this period, CCR1 = its count and CC1IE on; else the
 * next update interrupt wakes the wfe.  Loop until ticks reaches the end. */
void runtime_sleepTicks(int64_t d)
{
	int64_t end = runtime_ticks() + d;
	int64_t now;

	while ((now = runtime_ticks()) < end) {
		uint32_t cnt = MMIO32(TIM_CNT);

		if (cnt + (end - now) < TICKS_PER_PERIOD) {
			timerWakeup = 0;
			MMIO32(TIM_CCR1) = cnt + (uint32_t)(end - now);
			MMIO32(TIM_SR) = ~TIM_CC1IF;
			MMIO32(TIM_DIER) |= TIM_CC1IE;
		}
		runtime_waitForEvents();
	}
	MMIO32(TIM_DIER) &= ~TIM_CC1IE;
}

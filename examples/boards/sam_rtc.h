/* sam_rtc.h - the RTC mode-0 time keeping that TinyGo's runtime_atsamd21.go and
 * runtime_atsamd51.go share (ticks, RTC_IRQHandler, timerSleep); included once by
 * chip_samd21.c and chip_samd51.c, which define the registers first:
 * RTC_FLAGS / RTC_ENSET / RTC_ENCLR (INTFLAG, INTENSET, INTENCLR as lvalues of their width),
 * RTC_COMP0, RTC_CMP0, RTC_OVF, RTC_MIN_SLEEP, readRTC() and rtcCompSync(). */

volatile uint32_t runtime_timerInterrupts GO("runtime.timerInterrupts");
static volatile uint32_t rtcOverflows GO("runtime.rtcOverflows");
static volatile uint8_t timerWakeup GO("runtime.timerWakeup");

/* The 32-bit COUNT and the wraps the handler counted, retried while a wrap is pending. */
int64_t runtime_ticks(void)
{
	for (;;) {
		uint32_t mask = irqDisable();
		uint32_t counter = readRTC();
		uint32_t overflows = rtcOverflows;
		uint32_t pending = RTC_FLAGS & RTC_OVF;
		irqRestore(mask);
		if (!pending)
			return (int64_t)(((uint64_t)overflows << 32) + counter);
	}
}

void RTC_IRQHandler(void)
{
	uint32_t flags = RTC_FLAGS;

	if (flags & RTC_CMP0)
		timerWakeup = 1;
	if (flags & RTC_OVF)
		rtcOverflows++;
	RTC_FLAGS = RTC_CMP0 | RTC_OVF;
	runtime_timerInterrupts++;
}

/* timerSleep: COMP0 = COUNT + d, CMP0 interrupt on, wfe until the handler saw CMP0. */
void runtime_sleepTicks(int64_t d)
{
	int64_t end = runtime_ticks() + d;

	timerWakeup = 0;
	if (d < RTC_MIN_SLEEP)
		d = RTC_MIN_SLEEP;
	MMIO32(RTC_COMP0) = readRTC() + (uint32_t)d;
	rtcCompSync();
	RTC_ENSET = RTC_CMP0;
	while (!timerWakeup && runtime_ticks() < end)
		runtime_waitForEvents();
	while (runtime_ticks() < end) /* woken early: wait out the rest */
		runtime_waitForEvents();
	RTC_ENCLR = RTC_CMP0;
}

/* board.c - mps2-an385 start-up: the vector table (word 0: _estack, the top of RAM, as in
 * STM32CubeMX and the FreeRTOS mps2 demo), Reset_Handler, CMSDK UART0 output, semihosting
 * exit, and the C library functions the kernel uses. */
#include <string.h>
#include "FreeRTOS.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void TIMER0_Handler(void);
void TIMER1_Handler(void);
void UARTRX0_Handler(void);

#define UART0_DATA (*(volatile uint32_t *)0x40004000u)
#define UART0_STATE (*(volatile uint32_t *)0x40004004u)
#define UART0_CTRL (*(volatile uint32_t *)0x40004008u)
#define UART0_BAUDDIV (*(volatile uint32_t *)0x40004010u)

#define NUM_IRQS 32
typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used))
const vector_t __isr_vector[16 + NUM_IRQS] = {
	[0] = (vector_t)(uintptr_t)&_estack,
	[1] = Reset_Handler,
	[2] = Default_Handler, /* NMI */
	[3] = HardFault_Handler,
	[4 ... 6] = Default_Handler,
	[11] = vPortSVCHandler,
	[12] = Default_Handler,
	[14] = xPortPendSVHandler,
	[15] = xPortSysTickHandler,
	[16 ... 16 + NUM_IRQS - 1] = Default_Handler,
	[16 + 0] = UARTRX0_Handler,
	[16 + 8] = TIMER0_Handler,
	[16 + 9] = TIMER1_Handler,
};

void Reset_Handler(void)
{
	uint32_t *src = &_sidata, *dst = &_sdata;
	while (dst < &_edata)
		*dst++ = *src++;
	for (dst = &_sbss; dst < &_ebss;)
		*dst++ = 0;
	UART0_BAUDDIV = 16;
	UART0_CTRL = 1; /* TX enable */
	vBoardExit(main());
}

void Default_Handler(void)
{
	vBoardPuts("unexpected interrupt\n");
	vBoardExit(3);
}

void HardFault_Handler(void)
{
	vBoardPuts("hard fault\n");
	vBoardExit(4);
}

static void prvPutc(char c)
{
	while (UART0_STATE & 1u)
		;
	UART0_DATA = (uint8_t)c;
}

void vBoardPuts(const char *s)
{
	while (*s)
		prvPutc(*s++);
}

void vBoardPutU(uint32_t v)
{
	char buf[11];
	int i = 10;
	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	vBoardPuts(&buf[i]);
}

void vBoardExit(int code)
{
	/* ARM semihosting SYS_EXIT: ADP_Stopped_ApplicationExit exits QEMU with 0, any other
	 * reason with 1. */
	register uint32_t r0 __asm__("r0") = 0x18u;
	register uint32_t r1 __asm__("r1") = code == 0 ? 0x20026u : 0x20023u;
	__asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
	for (;;)
		;
}

void *memset(void *s, int c, size_t n)
{
	uint8_t *p = s;
	while (n--)
		*p++ = (uint8_t)c;
	return s;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

char *strncpy(char *restrict d, const char *restrict s, size_t n)
{
	size_t i = 0;
	for (; i < n && s[i]; i++)
		d[i] = s[i];
	for (; i < n; i++)
		d[i] = 0;
	return d;
}

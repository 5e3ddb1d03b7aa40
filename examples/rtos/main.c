/* main.c - the reference RTOS application: tasks of known depth, one task that overflows its
 * stack, and three interrupt handlers:
 *   TIMER0 (IRQ 8, priority 0x80, below configMAX_SYSCALL_INTERRUPT_PRIORITY): xQueueSendFromISR - correct;
 *   TIMER1 (IRQ 9, priority 0xA0): xQueueSend, which is not interrupt-safe - wrong;
 *   UARTRX0 (IRQ 0, priority 0x20, above configMAX_SYSCALL_INTERRUPT_PRIORITY): xQueueSendFromISR - wrong,
 *     a critical section does not mask it.
 * Only the check task prints, so the output does not depend on timing. */
#include "FreeRTOS.h"

#define CMSDK_TIMER0_BASE 0x40000000u
#define CMSDK_TIMER1_BASE 0x40001000u
#define TIMER_CTRL(b) (*(volatile uint32_t *)((b) + 0x00u))
#define TIMER_RELOAD(b) (*(volatile uint32_t *)((b) + 0x08u))
#define TIMER_INTCLEAR(b) (*(volatile uint32_t *)((b) + 0x0Cu))
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define NVIC_ICER0 (*(volatile uint32_t *)0xE000E180u)
#define NVIC_ISPR0 (*(volatile uint32_t *)0xE000E200u)
#define NVIC_IPR(n) (*(volatile uint8_t *)(0xE000E400u + (n)))
#define UARTRX0_IRQn 0u
#define TIMER0_IRQn 8u
#define TIMER1_IRQn 9u

enum { RESULT_ADDER, RESULT_TICKER, RESULT_STATIC, RESULT_COUNT };

extern volatile uint32_t ulPortPriorityViolations;
extern volatile uint32_t ulPortCriticalFromISR;

static QueueHandle_t xResults;
static QueueHandle_t xIsrQueue;
static volatile uint32_t ulTimer0Count, ulTimer1Count, ulUartCount;
static volatile uint32_t ulOverflowGo;
static StackType_t uxStaticStack[100];
static StaticTask_t xStaticTCB;

static void prvReport(uint32_t ulWho, uint32_t ulValue)
{
	uint32_t ulMessage = (ulWho << 24) | ulValue;
	(void)xQueueSend(xResults, &ulMessage, portMAX_DELAY);
}

/* 64 words on the stack: the adder task's known depth. */
__attribute__((noinline)) static uint32_t prvSum(uint32_t ulCount)
{
	volatile uint32_t ulTerms[64];
	uint32_t ulTotal = 0;
	for (uint32_t i = 0; i < 64u; i++)
		ulTerms[i] = i + 1u;
	for (uint32_t i = 0; i < ulCount && i < 64u; i++)
		ulTotal += ulTerms[i];
	return ulTotal;
}

static void prvAdderTask(void *pvParameters)
{
	(void)pvParameters;
	prvReport(RESULT_ADDER, prvSum(64));
	vTaskSuspend(NULL);
}

static void prvTickerTask(void *pvParameters)
{
	(void)pvParameters;
	uint32_t ulRounds = 0;
	for (int i = 0; i < 5; i++) {
		vTaskDelay(3);
		ulRounds++;
	}
	prvReport(RESULT_TICKER, ulRounds);
	vTaskSuspend(NULL);
}

__attribute__((noinline)) static uint32_t prvFold(const uint8_t *pucBytes, uint32_t ulLength)
{
	volatile uint8_t ucCopy[48];
	uint32_t ulHash = 2166136261u;
	for (uint32_t i = 0; i < ulLength && i < sizeof(ucCopy); i++)
		ucCopy[i] = pucBytes[i];
	for (uint32_t i = 0; i < ulLength && i < sizeof(ucCopy); i++)
		ulHash = (ulHash ^ ucCopy[i]) * 16777619u;
	return ulHash & 0xFFFFFFu;
}

static void prvStaticTask(void *pvParameters)
{
	prvReport(RESULT_STATIC, prvFold(pvParameters, 11));
	vTaskSuspend(NULL);
}

/* 96 words on a 64-word stack: this task overflows when it runs prvDeep. */
__attribute__((noinline)) static uint32_t prvDeep(uint32_t ulSeed)
{
	volatile uint32_t ulScratch[96];
	for (uint32_t i = 0; i < 96u; i++)
		ulScratch[i] = ulSeed + i;
	return ulScratch[ulSeed % 96u];
}

static void prvOverflowTask(void *pvParameters)
{
	(void)pvParameters;
	while (!ulOverflowGo)
		vTaskDelay(1);
	(void)prvDeep(ulOverflowGo);
	taskYIELD(); /* the switch checks the stack's last 16 bytes */
	vTaskSuspend(NULL);
}

void TIMER0_Handler(void)
{
	BaseType_t xWoken = pdFALSE;
	uint32_t ulCount = ++ulTimer0Count;
	TIMER_INTCLEAR(CMSDK_TIMER0_BASE) = 1u;
	(void)xQueueSendFromISR(xIsrQueue, &ulCount, &xWoken);
	portYIELD_FROM_ISR(xWoken);
}

void TIMER1_Handler(void)
{
	uint32_t ulCount = ++ulTimer1Count;
	TIMER_INTCLEAR(CMSDK_TIMER1_BASE) = 1u;
	(void)xQueueSend(xIsrQueue, &ulCount, 0); /* wrong: not an ...FromISR function */
}

void UARTRX0_Handler(void)
{
	BaseType_t xWoken = pdFALSE;
	uint32_t ulCount = ++ulUartCount;
	(void)xQueueSendFromISR(xIsrQueue, &ulCount, &xWoken); /* wrong: priority above the syscall level */
	portYIELD_FROM_ISR(xWoken);
}

static void prvPrintLine(const char *pcLabel, uint32_t ulValue)
{
	vBoardPuts(pcLabel);
	vBoardPutU(ulValue);
	vBoardPuts("\n");
}

static void prvCheckTask(void *pvParameters)
{
	(void)pvParameters;
	uint32_t ulResults[RESULT_COUNT] = {0};
	for (int i = 0; i < RESULT_COUNT; i++) {
		uint32_t ulMessage;
		(void)xQueueReceive(xResults, &ulMessage, portMAX_DELAY);
		if ((ulMessage >> 24) < RESULT_COUNT)
			ulResults[ulMessage >> 24] = ulMessage & 0xFFFFFFu;
	}
	prvPrintLine("adder: ", ulResults[RESULT_ADDER]);
	prvPrintLine("ticker rounds: ", ulResults[RESULT_TICKER]);
	prvPrintLine("static: ", ulResults[RESULT_STATIC]);

	/* Interrupts that talk to a queue. */
	TIMER_RELOAD(CMSDK_TIMER0_BASE) = configCPU_CLOCK_HZ / 1000u;
	TIMER_RELOAD(CMSDK_TIMER1_BASE) = configCPU_CLOCK_HZ / 700u;
	TIMER_CTRL(CMSDK_TIMER0_BASE) = 0x9u; /* interrupt enable | enable */
	TIMER_CTRL(CMSDK_TIMER1_BASE) = 0x9u;
	NVIC_ISER0 = (1u << TIMER0_IRQn) | (1u << TIMER1_IRQn) | (1u << UARTRX0_IRQn);
	uint32_t ulReceived = 0, ulItem;
	while (ulReceived < 40u) {
		if (xQueueReceive(xIsrQueue, &ulItem, 100) == pdPASS)
			ulReceived++;
		else
			break;
	}
	TIMER_CTRL(CMSDK_TIMER0_BASE) = 0;
	TIMER_CTRL(CMSDK_TIMER1_BASE) = 0;
	NVIC_ICER0 = (1u << TIMER0_IRQn) | (1u << TIMER1_IRQn);
	NVIC_ISPR0 = 1u << UARTRX0_IRQn; /* one UART interrupt, above the syscall priority */
	__asm volatile("dsb\n isb" ::: "memory");
	while (xQueueReceive(xIsrQueue, &ulItem, 0) == pdPASS)
		;
	prvPrintLine("items from interrupts: ", ulReceived);
	prvPrintLine("FromISR calls above configMAX_SYSCALL_INTERRUPT_PRIORITY: ", ulPortPriorityViolations);
	vBoardPuts(ulPortCriticalFromISR ? "critical section entered from an interrupt: yes\n"
					 : "critical section entered from an interrupt: no\n");
	prvPrintLine("heap never below (bytes free): ", xPortGetMinimumEverFreeHeapSize());

	ulOverflowGo = 1;
	vTaskDelay(10);
	vBoardPuts("stack overflow not detected\n");
	vBoardExit(0);
}

/* configASSERT's failure path, as in the FreeRTOS demos: mask, report, stop. */
void vAssertCalled(const char *pcFile, unsigned long ulLine)
{
	taskENTER_CRITICAL();
	vBoardPuts("assert failed: ");
	vBoardPuts(pcFile);
	prvPrintLine(":", ulLine);
	vBoardExit(5);
}

void vApplicationStackOverflowHook(TaskHandle_t xTask, const char *pcTaskName)
{
	(void)xTask;
	vBoardPuts("stack overflow in task ");
	vBoardPuts(pcTaskName);
	vBoardPuts("\n");
	vBoardExit(1);
}

int main(void)
{
	xResults = xQueueCreate(RESULT_COUNT, sizeof(uint32_t));
	xIsrQueue = xQueueCreate(8, sizeof(uint32_t));
	NVIC_IPR(TIMER0_IRQn) = 0x80u;
	NVIC_IPR(TIMER1_IRQn) = 0xA0u;
	NVIC_IPR(UARTRX0_IRQn) = 0x20u;
	(void)xTaskCreate(prvCheckTask, "check", 192, NULL, 4, NULL);
	(void)xTaskCreate(prvAdderTask, "adder", 128, NULL, 2, NULL);
	(void)xTaskCreate(prvTickerTask, "ticker", 96, NULL, 2, NULL);
	(void)xTaskCreateStatic(prvStaticTask, "static", 100, "hello world", 1, uxStaticStack, &xStaticTCB);
	(void)pvPortMalloc(512); /* a guard block below the overflowing task's stack */
	(void)xTaskCreate(prvOverflowTask, "overflow", 64, NULL, 1, NULL);
	vTaskStartScheduler();
	return 1;
}

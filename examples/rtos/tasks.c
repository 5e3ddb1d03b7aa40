/* tasks.c - task control blocks, the scheduler and the tick, shaped like FreeRTOS's tasks.c:
 * xTaskCreate takes the stack (depth in words) and then the TCB from pvPortMalloc, fills the
 * stack with 0xa5 and checks its last 16 bytes at every switch (configCHECK_FOR_STACK_OVERFLOW 2);
 * vTaskStartScheduler creates the idle task and the timer service task. */
#include <string.h>
#include "FreeRTOS.h"

#define tskSTACK_FILL_BYTE 0xa5u
#define tskIDLE_PRIORITY 0u

typedef enum { eReady, eBlocked, eSuspended } eTaskState;

/* The field order follows FreeRTOS's TCB_t where it matters to tools: the saved stack pointer
 * first, the stack's lowest address (pxStack) directly before the name. */
typedef struct tskTaskControlBlock {
	volatile StackType_t *pxTopOfStack; /* must be first: the port's switch code reads it */
	uint32_t ulStackDepth;
	eTaskState eState;
	TickType_t xWakeTime;
	UBaseType_t uxPriority;
	StackType_t *pxStack;
	char pcTaskName[12];
} tskTCB;

void *volatile pxCurrentTCB;
static tskTCB *pxTasks[configMAX_TASKS];
static UBaseType_t uxTaskCount;
static volatile TickType_t xTickCount;

static void prvInitialiseNewTask(TaskFunction_t pxTaskCode, const char *pcName, uint32_t ulStackDepth,
				 void *pvParameters, UBaseType_t uxPriority, StackType_t *pxStack, tskTCB *pxNewTCB)
{
	memset(pxStack, tskSTACK_FILL_BYTE, ulStackDepth * sizeof(StackType_t));
	StackType_t *pxTopOfStack = &pxStack[ulStackDepth - 1u];
	pxTopOfStack = (StackType_t *)((uint32_t)pxTopOfStack & ~7u); /* 8-byte aligned (AAPCS) */
	pxNewTCB->pxStack = pxStack;
	pxNewTCB->ulStackDepth = ulStackDepth;
	pxNewTCB->uxPriority = uxPriority < configMAX_PRIORITIES ? uxPriority : configMAX_PRIORITIES - 1u;
	pxNewTCB->eState = eReady;
	pxNewTCB->xWakeTime = 0;
	strncpy(pxNewTCB->pcTaskName, pcName, sizeof(pxNewTCB->pcTaskName) - 1u);
	pxNewTCB->pcTaskName[sizeof(pxNewTCB->pcTaskName) - 1u] = 0;
	pxNewTCB->pxTopOfStack = pxPortInitialiseStack(pxTopOfStack, pxTaskCode, pvParameters);
	taskENTER_CRITICAL();
	if (uxTaskCount < configMAX_TASKS)
		pxTasks[uxTaskCount++] = pxNewTCB;
	if (pxCurrentTCB == NULL || pxNewTCB->uxPriority > ((tskTCB *)pxCurrentTCB)->uxPriority)
		pxCurrentTCB = pxNewTCB;
	taskEXIT_CRITICAL();
}

BaseType_t xTaskCreate(TaskFunction_t pxTaskCode, const char *pcName, configSTACK_DEPTH_TYPE usStackDepth,
		       void *pvParameters, UBaseType_t uxPriority, TaskHandle_t *pxCreatedTask)
{
	/* The stack first, then the TCB: a stack that grows down then overflows away from its TCB. */
	StackType_t *pxStack = pvPortMalloc((size_t)usStackDepth * sizeof(StackType_t));
	if (pxStack == NULL)
		return pdFAIL;
	tskTCB *pxNewTCB = pvPortMalloc(sizeof(tskTCB));
	if (pxNewTCB == NULL) {
		vPortFree(pxStack);
		return pdFAIL;
	}
	prvInitialiseNewTask(pxTaskCode, pcName, usStackDepth, pvParameters, uxPriority, pxStack, pxNewTCB);
	if (pxCreatedTask != NULL)
		*pxCreatedTask = pxNewTCB;
	return pdPASS;
}

TaskHandle_t xTaskCreateStatic(TaskFunction_t pxTaskCode, const char *pcName, uint32_t ulStackDepth,
			       void *pvParameters, UBaseType_t uxPriority, StackType_t *puxStackBuffer,
			       StaticTask_t *pxTaskBuffer)
{
	_Static_assert(sizeof(StaticTask_t) >= sizeof(tskTCB), "StaticTask_t too small");
	tskTCB *pxNewTCB = (tskTCB *)pxTaskBuffer;
	prvInitialiseNewTask(pxTaskCode, pcName, ulStackDepth, pvParameters, uxPriority, puxStackBuffer, pxNewTCB);
	return pxNewTCB;
}

static void prvIdleTask(void *pvParameters)
{
	(void)pvParameters;
	for (;;)
		__asm volatile("wfi");
}

/* The timer service task waits for commands on its queue (this firmware sends none). */
static void prvTimerTask(void *pvParameters)
{
	QueueHandle_t xTimerQueue = pvParameters;
	uint32_t ulCommand;
	for (;;)
		(void)xQueueReceive(xTimerQueue, &ulCommand, portMAX_DELAY);
}

void vTaskStartScheduler(void)
{
	(void)xTaskCreate(prvIdleTask, "IDLE", configMINIMAL_STACK_SIZE, NULL, tskIDLE_PRIORITY, NULL);
	QueueHandle_t xTimerQueue = xQueueCreate(4, sizeof(uint32_t));
	(void)xTaskCreate(prvTimerTask, "Tmr Svc", configTIMER_TASK_STACK_DEPTH, xTimerQueue,
			  configTIMER_TASK_PRIORITY, NULL);
	__asm volatile("cpsid i" ::: "memory");
	(void)xPortStartScheduler();
}

static void prvCheckForStackOverflow(tskTCB *pxTCB)
{
	const uint32_t *pulStack = (const uint32_t *)pxTCB->pxStack;
	for (unsigned i = 0; i < 4u; i++) {
		if (pulStack[i] != 0xa5a5a5a5u) {
			vApplicationStackOverflowHook(pxTCB, pxTCB->pcTaskName);
			return;
		}
	}
}

void vTaskSwitchContext(void)
{
	tskTCB *pxCurrent = pxCurrentTCB;
	prvCheckForStackOverflow(pxCurrent);
	UBaseType_t uxStart = 0;
	for (UBaseType_t i = 0; i < uxTaskCount; i++)
		if (pxTasks[i] == pxCurrent)
			uxStart = i + 1u;
	tskTCB *pxBest = NULL;
	for (UBaseType_t n = 0; n < uxTaskCount; n++) {
		tskTCB *pxTCB = pxTasks[(uxStart + n) % uxTaskCount];
		if (pxTCB->eState == eReady && (pxBest == NULL || pxTCB->uxPriority > pxBest->uxPriority))
			pxBest = pxTCB;
	}
	if (pxBest != NULL)
		pxCurrentTCB = pxBest;
}

BaseType_t xTaskIncrementTick(void)
{
	TickType_t xNow = ++xTickCount;
	for (UBaseType_t i = 0; i < uxTaskCount; i++) {
		tskTCB *pxTCB = pxTasks[i];
		if (pxTCB->eState == eBlocked && (int32_t)(xNow - pxTCB->xWakeTime) >= 0)
			pxTCB->eState = eReady;
	}
	return pdTRUE; /* preemptive round robin: switch at every tick */
}

void vTaskDelay(TickType_t xTicksToDelay)
{
	taskENTER_CRITICAL();
	tskTCB *pxCurrent = pxCurrentTCB;
	pxCurrent->xWakeTime = xTickCount + xTicksToDelay;
	pxCurrent->eState = eBlocked;
	taskEXIT_CRITICAL();
	taskYIELD();
}

void vTaskSuspend(TaskHandle_t xTaskToSuspend)
{
	tskTCB *pxTCB = xTaskToSuspend != NULL ? xTaskToSuspend : pxCurrentTCB;
	taskENTER_CRITICAL();
	pxTCB->eState = eSuspended;
	taskEXIT_CRITICAL();
	if (pxTCB == pxCurrentTCB)
		taskYIELD();
}

TickType_t xTaskGetTickCount(void)
{
	return xTickCount;
}

TickType_t xTaskGetTickCountFromISR(void)
{
	return xTickCount;
}

UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t xTask)
{
	tskTCB *pxTCB = xTask != NULL ? xTask : pxCurrentTCB;
	const uint8_t *pucByte = (const uint8_t *)pxTCB->pxStack;
	UBaseType_t uxCount = 0;
	while (pucByte[uxCount] == tskSTACK_FILL_BYTE)
		uxCount++;
	return uxCount / sizeof(StackType_t);
}

/* queue.c - copy-in/copy-out queues, shaped like FreeRTOS's queue.c. A task that must wait
 * polls once per tick (vTaskDelay): the blocking API. The ...FromISR variant never waits and
 * masks with BASEPRI through portSET_INTERRUPT_MASK_FROM_ISR. */
#include <string.h>
#include "FreeRTOS.h"

void vPortValidateInterruptPriority(void);

typedef struct QueueDefinition {
	uint8_t *pucStorage;
	UBaseType_t uxLength;
	UBaseType_t uxItemSize;
	UBaseType_t uxHead;
	volatile UBaseType_t uxMessagesWaiting;
} xQUEUE;

QueueHandle_t xQueueCreate(UBaseType_t uxQueueLength, UBaseType_t uxItemSize)
{
	xQUEUE *pxQueue = pvPortMalloc(sizeof(xQUEUE) + uxQueueLength * uxItemSize);
	if (pxQueue != NULL) {
		pxQueue->pucStorage = (uint8_t *)(pxQueue + 1);
		pxQueue->uxLength = uxQueueLength;
		pxQueue->uxItemSize = uxItemSize;
		pxQueue->uxHead = 0;
		pxQueue->uxMessagesWaiting = 0;
	}
	return pxQueue;
}

static BaseType_t prvCopyIn(xQUEUE *pxQueue, const void *pvItem)
{
	if (pxQueue->uxMessagesWaiting >= pxQueue->uxLength)
		return pdFAIL;
	UBaseType_t uxSlot = (pxQueue->uxHead + pxQueue->uxMessagesWaiting) % pxQueue->uxLength;
	memcpy(pxQueue->pucStorage + uxSlot * pxQueue->uxItemSize, pvItem, pxQueue->uxItemSize);
	pxQueue->uxMessagesWaiting++;
	return pdPASS;
}

static BaseType_t prvCopyOut(xQUEUE *pxQueue, void *pvBuffer)
{
	if (pxQueue->uxMessagesWaiting == 0)
		return pdFAIL;
	memcpy(pvBuffer, pxQueue->pucStorage + pxQueue->uxHead * pxQueue->uxItemSize, pxQueue->uxItemSize);
	pxQueue->uxHead = (pxQueue->uxHead + 1u) % pxQueue->uxLength;
	pxQueue->uxMessagesWaiting--;
	return pdPASS;
}

BaseType_t xQueueSend(QueueHandle_t xQueue, const void *pvItemToQueue, TickType_t xTicksToWait)
{
	for (;;) {
		taskENTER_CRITICAL();
		BaseType_t xDone = prvCopyIn(xQueue, pvItemToQueue);
		taskEXIT_CRITICAL();
		if (xDone == pdPASS)
			return pdPASS;
		if (xTicksToWait == 0)
			return errQUEUE_FULL;
		if (xTicksToWait != portMAX_DELAY)
			xTicksToWait--;
		vTaskDelay(1);
	}
}

BaseType_t xQueueReceive(QueueHandle_t xQueue, void *pvBuffer, TickType_t xTicksToWait)
{
	for (;;) {
		taskENTER_CRITICAL();
		BaseType_t xDone = prvCopyOut(xQueue, pvBuffer);
		taskEXIT_CRITICAL();
		if (xDone == pdPASS)
			return pdPASS;
		if (xTicksToWait == 0)
			return pdFAIL;
		if (xTicksToWait != portMAX_DELAY)
			xTicksToWait--;
		vTaskDelay(1);
	}
}

BaseType_t xQueueSendFromISR(QueueHandle_t xQueue, const void *pvItemToQueue, BaseType_t *pxHigherPriorityTaskWoken)
{
	configASSERT(xQueue != NULL);
	vPortValidateInterruptPriority();
	uint32_t ulSavedMask = portSET_INTERRUPT_MASK_FROM_ISR();
	BaseType_t xDone = prvCopyIn(xQueue, pvItemToQueue);
	portCLEAR_INTERRUPT_MASK_FROM_ISR(ulSavedMask);
	if (pxHigherPriorityTaskWoken != NULL)
		*pxHigherPriorityTaskWoken = pdFALSE; /* waiting tasks poll at the next tick */
	return xDone;
}

UBaseType_t uxQueueMessagesWaiting(QueueHandle_t xQueue)
{
	return xQueue->uxMessagesWaiting;
}

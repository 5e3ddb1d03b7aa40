/* heap.c - FreeRTOS's heap_1: pvPortMalloc carves 8-byte aligned blocks from ucHeap and never
 * frees; the minimum ever free size is what is left. */
#include "FreeRTOS.h"

#define portBYTE_ALIGNMENT 8u

static uint8_t ucHeap[configTOTAL_HEAP_SIZE] __attribute__((aligned(8)));
static size_t xNextFreeByte;
/* As heap_4 keeps it: the fewest bytes ever free (heap_1 never frees, so it is what is left). */
static size_t xMinimumEverFreeBytesRemaining = configTOTAL_HEAP_SIZE;

void *pvPortMalloc(size_t xWantedSize)
{
	void *pvReturn = NULL;
	xWantedSize = (xWantedSize + portBYTE_ALIGNMENT - 1u) & ~(size_t)(portBYTE_ALIGNMENT - 1u);
	taskENTER_CRITICAL();
	if (xWantedSize > 0 && xNextFreeByte + xWantedSize <= configTOTAL_HEAP_SIZE) {
		pvReturn = &ucHeap[xNextFreeByte];
		xNextFreeByte += xWantedSize;
		xMinimumEverFreeBytesRemaining = configTOTAL_HEAP_SIZE - xNextFreeByte;
	}
	taskEXIT_CRITICAL();
	return pvReturn;
}

void vPortFree(void *pv)
{
	(void)pv; /* heap_1 never frees */
}

size_t xPortGetFreeHeapSize(void)
{
	return configTOTAL_HEAP_SIZE - xNextFreeByte;
}

size_t xPortGetMinimumEverFreeHeapSize(void)
{
	return xMinimumEverFreeBytesRemaining;
}

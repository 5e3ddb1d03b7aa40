/* FreeRTOS.h - gomcu's reference RTOS: FreeRTOS's API names, types and calling conventions,
 * with a kernel small enough to check by hand (tasks.c, queue.c, heap.c, port.c). */
#ifndef FREERTOS_H
#define FREERTOS_H

#include <stddef.h>
#include <stdint.h>
#include "FreeRTOSConfig.h"

typedef uint32_t StackType_t;
typedef long BaseType_t;
typedef unsigned long UBaseType_t;
typedef uint32_t TickType_t;
typedef uint16_t configSTACK_DEPTH_TYPE;
typedef void (*TaskFunction_t)(void *);
typedef struct tskTaskControlBlock *TaskHandle_t;
typedef struct QueueDefinition *QueueHandle_t;
typedef struct { uint8_t opaque[64]; } StaticTask_t;

#define pdFALSE 0
#define pdTRUE 1
#define pdPASS 1
#define pdFAIL 0
#define errQUEUE_FULL 0
#define portMAX_DELAY 0xFFFFFFFFu

/* tasks.c */
BaseType_t xTaskCreate(TaskFunction_t pxTaskCode, const char *pcName, configSTACK_DEPTH_TYPE usStackDepth,
		       void *pvParameters, UBaseType_t uxPriority, TaskHandle_t *pxCreatedTask);
TaskHandle_t xTaskCreateStatic(TaskFunction_t pxTaskCode, const char *pcName, uint32_t ulStackDepth,
			       void *pvParameters, UBaseType_t uxPriority, StackType_t *puxStackBuffer,
			       StaticTask_t *pxTaskBuffer);
void vTaskStartScheduler(void);
void vTaskDelay(TickType_t xTicksToDelay);
void vTaskSuspend(TaskHandle_t xTaskToSuspend);
TickType_t xTaskGetTickCount(void);
TickType_t xTaskGetTickCountFromISR(void);
UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t xTask);
void vTaskSwitchContext(void);
BaseType_t xTaskIncrementTick(void);
void vApplicationStackOverflowHook(TaskHandle_t xTask, const char *pcTaskName);
#define taskYIELD() portYIELD()
#define taskENTER_CRITICAL() vPortEnterCritical()
#define taskEXIT_CRITICAL() vPortExitCritical()

/* queue.c */
QueueHandle_t xQueueCreate(UBaseType_t uxQueueLength, UBaseType_t uxItemSize);
BaseType_t xQueueSend(QueueHandle_t xQueue, const void *pvItemToQueue, TickType_t xTicksToWait);
BaseType_t xQueueReceive(QueueHandle_t xQueue, void *pvBuffer, TickType_t xTicksToWait);
BaseType_t xQueueSendFromISR(QueueHandle_t xQueue, const void *pvItemToQueue, BaseType_t *pxHigherPriorityTaskWoken);
UBaseType_t uxQueueMessagesWaiting(QueueHandle_t xQueue);

/* heap.c */
void *pvPortMalloc(size_t xWantedSize);
void vPortFree(void *pv);
size_t xPortGetFreeHeapSize(void);
size_t xPortGetMinimumEverFreeHeapSize(void);

/* port.c */
StackType_t *pxPortInitialiseStack(StackType_t *pxTopOfStack, TaskFunction_t pxCode, void *pvParameters);
BaseType_t xPortStartScheduler(void);
void vPortEnterCritical(void);
void vPortExitCritical(void);
uint32_t ulPortRaiseBASEPRI(void);
void vPortSetBASEPRI(uint32_t ulNewMask);
void xPortPendSVHandler(void);
void xPortSysTickHandler(void);
void vPortSVCHandler(void);
#define portNVIC_INT_CTRL_REG (*(volatile uint32_t *)0xE000ED04u)
#define portNVIC_PENDSVSET_BIT (1u << 28)
#define portYIELD() do { portNVIC_INT_CTRL_REG = portNVIC_PENDSVSET_BIT; __asm volatile("dsb\n isb" ::: "memory"); } while (0)
#define portEND_SWITCHING_ISR(x) do { if (x) portYIELD(); } while (0)
#define portYIELD_FROM_ISR(x) portEND_SWITCHING_ISR(x)
#define portSET_INTERRUPT_MASK_FROM_ISR() ulPortRaiseBASEPRI()
#define portCLEAR_INTERRUPT_MASK_FROM_ISR(x) vPortSetBASEPRI(x)

/* configASSERT as the FreeRTOS demos define it: the application's vAssertCalled (main.c) */
void vAssertCalled(const char *pcFile, unsigned long ulLine);
#define configASSERT(x) do { if (!(x)) vAssertCalled(__FILE__, __LINE__); } while (0)

/* board.c: output and exit (CMSDK UART0, semihosting) */
void vBoardPuts(const char *s);
void vBoardPutU(uint32_t v);
void vBoardExit(int code) __attribute__((noreturn));

#endif

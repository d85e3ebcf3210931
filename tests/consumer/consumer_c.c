/* A C program (compiled as C) that links the installed shared library through the C ABI. */
#include <stdio.h>
#include <string.h>

#include "micronas/micronas.h"

static const char* kCell =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_3x3~2|";

static int fail(const char* what) {
  fprintf(stderr, "%s: %s\n", what, micronas_last_error());
  return 1;
}

int main(void) {
  char* text = NULL;
  micronas_context* context = NULL;
  if (micronas_arch_canonical(kCell, &text) != MICRONAS_OK) return fail("arch");
  if (strcmp(text, kCell) != 0) return fail("canonical form");
  micronas_free(text);
  /* Bad input: a status and a message, never a crash. */
  if (micronas_arch_canonical("|bogus~0|", &text) != MICRONAS_PARSE_ERROR) return fail("bad arch");
  if (strstr(micronas_last_error(), "bogus") == NULL) return fail("error message");
  if (micronas_context_create("nope", 0, 0, &context) != MICRONAS_INVALID_ARGUMENT)
    return fail("bad backend");

  if (micronas_context_create("cpu", 1, 0, &context) != MICRONAS_OK) return fail("context");
  if (micronas_score(context, kCell,
                     "{\"batch\": 8, \"repeat\": 1, \"lr_samples\": 50, \"lr_batches\": 1}",
                     &text) != MICRONAS_OK)
    return fail("score");
  if (strstr(text, "\"ntk_condition\"") == NULL) return fail("score result");
  micronas_free(text);
  if (micronas_score(context, kCell, "{\"batchh\": 8}", &text) != MICRONAS_INVALID_ARGUMENT ||
      strstr(micronas_last_error(), "batchh") == NULL)
    return fail("unknown option");
  micronas_context_destroy(context);

  if (micronas_mcu_estimate(kCell, "{\"target\": \"stm32f746\"}", &text) != MICRONAS_OK)
    return fail("mcu");
  printf("micronas %s: %s\n", micronas_version(), text);
  micronas_free(text);
  return 0;
}

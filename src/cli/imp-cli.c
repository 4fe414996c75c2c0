/* imp-cli.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-cli.h"

gboolean
imp_cli_is_command (const char *word)
{
  return FALSE;
}

int
imp_cli_main (int    argc,
              char **argv)
{
  return 1;
}

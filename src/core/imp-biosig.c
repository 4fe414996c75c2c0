/* imp-biosig.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-recording-private.h"

ImpRecording *
_imp_biosig_open (const char  *path,
               GError     **error)
{
  /* TODO: the reader is not written yet, so these files are refused. */
  return NULL;
}

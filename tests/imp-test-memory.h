/* imp-test-memory.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* Recordings held in memory for the core tests. */

#pragma once

#include <string.h>

#include "imp-recording-private.h"

/* A recording in memory, for samples that no file format written here can
 * hold (NaN, infinities): channel-major floats, one sweep. */
typedef struct
{
  float  *data;
  gint64  n_samples;
} MemData;

static gboolean
mem_read (ImpRecording *self,
          guint         first_channel,
          guint         n_channels,
          gint64        first_sample,
          gint64        n_samples,
          float        *out,
          GError      **error)
{
  MemData *mem = self->backend_data;
  guint c;

  for (c = 0; c < n_channels; c++)
    memcpy (out + (gsize) c * n_samples,
            mem->data + (gsize) (first_channel + c) * mem->n_samples
            + first_sample, (gsize) n_samples * sizeof (float));
  return TRUE;
}

static void
mem_close (gpointer data)
{
  MemData *mem = data;

  g_free (mem->data);
  g_free (mem);
}

static const ImpRecordingBackend mem_backend = { "memory", mem_read,
                                                 mem_close };

/* Takes @data: n_channels × n_samples floats, channel-major. */
G_GNUC_UNUSED static ImpRecording *
mem_recording (float              *data,
               gint64              n_samples,
               double              fs,
               guint               n_channels,
               const char * const *labels,
               const char * const *units)
{
  g_autoptr(GError) error = NULL;
  MemData *mem = g_new0 (MemData, 1);
  ImpRecording *rec;
  guint c;

  mem->data = data;
  mem->n_samples = n_samples;
  rec = _imp_recording_new ("memory", &mem_backend, mem);
  rec->sample_rate = fs;
  for (c = 0; c < n_channels; c++)
    _imp_recording_add_channel (rec, labels[c], units[c], 1.0, 0.0);
  _imp_recording_add_sweep (rec, n_samples, 0.0);
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_no_error (error);
  return rec;
}

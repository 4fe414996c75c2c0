/* imp-recording-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-recording.h"

G_BEGIN_DECLS

/* What a back end provides. read() gets a channel range and a sample range
 * already checked against the recording's size and must write
 * n_channels * n_samples floats, channel-major (out[c * n_samples + s]),
 * in the channel's physical unit. It is called with the recording's lock
 * held, so it need not be thread-safe itself. */
typedef struct
{
  const char *format;
  gboolean  (*read)  (ImpRecording *self,
                      guint         first_channel,
                      guint         n_channels,
                      gint64        first_sample,
                      gint64        n_samples,
                      float        *out,
                      GError      **error);
  void      (*close) (gpointer      backend_data);
} ImpRecordingBackend;

struct _ImpRecording
{
  gatomicrefcount             ref_count;
  GMutex                      lock;
  char                       *path;
  const ImpRecordingBackend  *backend;
  gpointer                    backend_data;
  double                      sample_rate;
  gint64                      n_samples;
  GArray                     *channels;   /* of ImpChannel */
  GArray                     *sweeps;     /* of ImpSweep */
  char                       *warning;    /* repairs made while opening, or NULL */
};

ImpRecording *_imp_recording_new          (const char                *path,
                                           const ImpRecordingBackend *backend,
                                           gpointer                   backend_data);
void          _imp_recording_add_channel  (ImpRecording              *self,
                                           const char                *label,
                                           const char                *unit,
                                           double                     gain,
                                           double                     offset);
void          _imp_recording_add_sweep    (ImpRecording              *self,
                                           gint64                     n_samples,
                                           double                     start_s);
void          _imp_recording_add_warning  (ImpRecording              *self,
                                           const char                *text);
gboolean      _imp_recording_validate     (ImpRecording              *self,
                                           GError                   **error);

/* Unit normalisation: returns the factor that turns @unit into the
 * canonical unit (V -> mV, A -> pA, ...) and stores the canonical name. */
double        _imp_unit_normalise         (const char                *unit,
                                           const char               **canonical);

/* Back ends; each returns NULL with error set, or NULL without error when
 * the file is not theirs (so the next may try). */
ImpRecording *_imp_native_open            (const char                *path,
                                           GError                   **error);
ImpRecording *_imp_nwb_open               (const char                *path,
                                           GError                   **error);
ImpRecording *_imp_biosig_open            (const char                *path,
                                           GError                   **error);

G_END_DECLS

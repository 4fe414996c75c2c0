/* imp-recording.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define IMP_RECORDING_ERROR (imp_recording_error_quark ())

typedef enum
{
  IMP_RECORDING_ERROR_NOT_FOUND,     /* file missing or unreadable */
  IMP_RECORDING_ERROR_UNKNOWN_FORMAT,/* no reader recognises it */
  IMP_RECORDING_ERROR_MALFORMED,     /* recognised, but broken (truncated, bad shapes) */
  IMP_RECORDING_ERROR_NO_RATE,       /* sampling rate missing, zero or absurd */
  IMP_RECORDING_ERROR_UNSUPPORTED,   /* valid, but something we do not handle */
  IMP_RECORDING_ERROR_RANGE,         /* a read outside the recording */
  IMP_RECORDING_ERROR_IO,            /* a read failed */
} ImpRecordingError;

typedef enum
{
  IMP_ACCESS_UNKNOWN = 0,
  IMP_ACCESS_INTRACELLULAR,
  IMP_ACCESS_EXTRACELLULAR,
  IMP_ACCESS_NONE,
} ImpAccess;

/* One channel. Samples returned by imp_recording_read() are already in
 * @unit: membrane potential in "mV", current in "pA"; other units pass
 * through unchanged. */
typedef struct
{
  char      *label;
  char      *unit;
  double     gain;        /* physical = raw * gain + offset (raw = stored value) */
  double     offset;
  gboolean   has_position;
  double     x_um;
  double     y_um;
  ImpAccess  access;
} ImpChannel;

/* Sweeps are laid end to end in sample index space: sweep i covers samples
 * [start_sample, start_sample + n_samples). start_s is when the sweep began
 * in the experiment (seconds from the start of the recording). A continuous
 * recording has one sweep. */
typedef struct
{
  gint64 start_sample;
  gint64 n_samples;
  double start_s;
} ImpSweep;

typedef struct _ImpRecording ImpRecording;

GQuark            imp_recording_error_quark       (void);
const char       *imp_access_to_string            (ImpAccess      access);

ImpRecording     *imp_recording_open              (const char    *path,
                                                   GError       **error);
ImpRecording     *imp_recording_ref               (ImpRecording  *self);
void              imp_recording_unref             (ImpRecording  *self);

const char       *imp_recording_get_path          (ImpRecording  *self);
const char       *imp_recording_get_format        (ImpRecording  *self);
guint             imp_recording_get_n_channels    (ImpRecording  *self);
double            imp_recording_get_sample_rate   (ImpRecording  *self);
gint64            imp_recording_get_n_samples     (ImpRecording  *self);
double            imp_recording_get_duration      (ImpRecording  *self);
const ImpChannel *imp_recording_get_channel       (ImpRecording  *self,
                                                   guint          index);
guint             imp_recording_get_n_sweeps      (ImpRecording  *self);
const ImpSweep   *imp_recording_get_sweep         (ImpRecording  *self,
                                                   guint          index);
guint             imp_recording_sweep_at          (ImpRecording  *self,
                                                   gint64         sample);
const char       *imp_recording_get_warning       (ImpRecording  *self);
const char       *imp_recording_get_attribute     (ImpRecording  *self,
                                                   const char    *key);

gboolean          imp_recording_read              (ImpRecording  *self,
                                                   guint          first_channel,
                                                   guint          n_channels,
                                                   gint64         first_sample,
                                                   gint64         n_samples,
                                                   float         *out,
                                                   GError       **error);

/* @n_blocks blocks of @width samples every @stride samples from
 * @first_sample, channel-major: out[c * n_blocks * width + b * width + s].
 * A sparse sample of a long stretch, for previews: where blocks are far
 * apart it reads only them, not the whole chunks that hold them. */
gboolean          imp_recording_read_strided      (ImpRecording  *self,
                                                   guint          first_channel,
                                                   guint          n_channels,
                                                   gint64         first_sample,
                                                   gint64         stride,
                                                   gint64         width,
                                                   gint64         n_blocks,
                                                   float         *out,
                                                   GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpRecording, imp_recording_unref)

G_END_DECLS

/* imp-activity.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "imp-analysis.h"
#include "imp-recording.h"

G_BEGIN_DECLS

/* How active each channel is over a window of time, for the array
 * overview and `imprint activity`: the range of its samples (peak to
 * peak) and their root mean square about their mean, in the channel's
 * unit. A window longer than the budget per channel is measured on blocks
 * of IMP_ACTIVITY_BLOCK samples spread evenly over it; n_measured says how
 * many samples per channel were used. */

#define IMP_ACTIVITY_BLOCK 4096

typedef struct
{
  guint   n_channels;
  gint64  first_sample;   /* the window */
  gint64  n_samples;
  gint64  n_measured;     /* samples per channel measured */
  float  *peak_to_peak;   /* per channel; NAN without a usable sample */
  float  *rms;            /* per channel, about the mean; NAN likewise */
} ImpActivity;

ImpActivity *imp_activity_measure (ImpRecording  *recording,
                                   gint64         first_sample,
                                   gint64         n_samples,
                                   gint64         max_per_channel,
                                   GCancellable  *cancellable,
                                   GError       **error);
void         imp_activity_free    (ImpActivity   *self);
gboolean     imp_activity_write_csv (ImpActivity  *self,
                                     ImpRecording *recording,
                                     const char   *path,
                                     GError      **error);

/* One presynaptic AP and a postsynaptic PSP it evoked. */
typedef struct
{
  gint64 ap_sample;
  gint64 psp_sample;
  float  amplitude_mv;   /* the PSP's, signed */
} ImpEvoked;

GArray      *imp_activity_evoked  (ImpAnalysisResult  *result,
                                   ImpRecording       *recording,
                                   const ImpCandidate *candidate);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpActivity, imp_activity_free)

G_END_DECLS

/* imp-trace-cache.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "imp-analysis.h"
#include "imp-recording.h"

G_BEGIN_DECLS

/* What the Traces view draws: per channel, the minimum and maximum of
 * columns of 2^level samples, read on demand and kept in blocks of
 * IMP_TRACE_CACHE_BLOCK columns so that panning reuses them.
 *
 * Columns of up to IMP_TRACE_CACHE_EXACT samples are read whole. Wider
 * ones read IMP_TRACE_CACHE_STRIDE samples each: from the middle of the
 * column, or around the column's first action potential when the
 * analysis found one, so that spikes are not lost when zoomed out. A view
 * therefore never reads more than a few samples per column. */

#define IMP_TRACE_CACHE_BLOCK  256
#define IMP_TRACE_CACHE_EXACT  8
#define IMP_TRACE_CACHE_STRIDE 8

typedef struct _ImpTraceCache ImpTraceCache;

ImpTraceCache *imp_trace_cache_new              (ImpRecording  *recording);
void           imp_trace_cache_free             (ImpTraceCache *self);

void           imp_trace_cache_set_result       (ImpTraceCache     *self,
                                                 ImpAnalysisResult *result);
GArray        *imp_trace_cache_get_ap_samples   (ImpTraceCache *self,
                                                 guint          channel);

guint          imp_trace_cache_level_for        (double         samples_per_column);
void           imp_trace_cache_set_level        (ImpTraceCache *self,
                                                 guint          level);
guint          imp_trace_cache_get_level        (ImpTraceCache *self);
gint64         imp_trace_cache_get_n_columns    (ImpTraceCache *self);
void           imp_trace_cache_clear            (ImpTraceCache *self);

gboolean       imp_trace_cache_fetch            (ImpTraceCache *self,
                                                 const guint   *channels,
                                                 guint          n_channels,
                                                 gint64         first_column,
                                                 gint64         end_column,
                                                 gint64         deadline_us,
                                                 gboolean      *complete,
                                                 GError       **error);
gboolean       imp_trace_cache_get_column       (ImpTraceCache *self,
                                                 guint          channel,
                                                 gint64         column,
                                                 float         *min,
                                                 float         *max);
guint64        imp_trace_cache_get_samples_read (ImpTraceCache *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpTraceCache, imp_trace_cache_free)

G_END_DECLS

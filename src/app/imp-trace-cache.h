/* imp-trace-cache.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "imp-analysis.h"
#include "imp-pyramid.h"
#include "imp-recording.h"

G_BEGIN_DECLS

/* What the Traces view draws: per channel, the minimum and maximum of
 * columns of 2^level samples, kept in blocks of IMP_TRACE_CACHE_BLOCK
 * columns per channel and level, so that panning and zooming back reuse
 * them.
 *
 * Columns of IMP_PYRAMID_BASE samples and wider come exact from the
 * recording's level-of-detail pyramid (imp_trace_cache_set_pyramid()) as
 * far as it is built, without reading; narrower ones get a preview of
 * the pyramid's bins that hold them.
 *
 * Otherwise a column comes in two qualities. A preview is read on the
 * main thread within a deadline: whole for columns of up to
 * IMP_TRACE_CACHE_EXACT samples, which makes it exact, otherwise
 * IMP_TRACE_CACHE_STRIDE samples from the middle of the column (one
 * strided read for a block of columns) or around its first action
 * potential. The exact minimum and maximum of wider columns are computed
 * by a worker thread from full reads, a slice at a time, and replace the
 * preview as they arrive; columns of a coarser level are combined from
 * exact finer ones without reading when they can be. After the visible
 * columns, the worker also computes an overview of the whole recording,
 * from which imp_trace_cache_get_extent() gives each channel's robust
 * amplitude range. The worker leaves to a growing pyramid what it will
 * bring. */

#define IMP_TRACE_CACHE_BLOCK  256
#define IMP_TRACE_CACHE_EXACT  8
#define IMP_TRACE_CACHE_STRIDE 8

typedef struct _ImpTraceCache ImpTraceCache;

/* Called on the main thread when exact columns (or a read error) arrive
 * from the worker. */
typedef void (*ImpTraceCacheNotify) (gpointer user_data);

ImpTraceCache *imp_trace_cache_new              (ImpRecording  *recording);
void           imp_trace_cache_free             (ImpTraceCache *self);
void           imp_trace_cache_set_notify       (ImpTraceCache       *self,
                                                 ImpTraceCacheNotify  notify,
                                                 gpointer             user_data);

void           imp_trace_cache_set_pyramid      (ImpTraceCache     *self,
                                                 ImpPyramid        *pyramid,
                                                 gboolean           growing);
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
void           imp_trace_cache_refine           (ImpTraceCache *self,
                                                 const guint   *channels,
                                                 guint          n_channels,
                                                 gint64         first_column,
                                                 gint64         end_column);
gboolean       imp_trace_cache_is_exact         (ImpTraceCache *self,
                                                 const guint   *channels,
                                                 guint          n_channels,
                                                 gint64         first_column,
                                                 gint64         end_column);
gboolean       imp_trace_cache_get_column       (ImpTraceCache *self,
                                                 guint          channel,
                                                 gint64         column,
                                                 float         *min,
                                                 float         *max,
                                                 gboolean      *exact);
guint          imp_trace_cache_get_columns      (ImpTraceCache *self,
                                                 guint          channel,
                                                 gint64         first,
                                                 guint          n,
                                                 float         *min,
                                                 float         *max,
                                                 float         *mid,
                                                 gboolean      *exact);
guint64        imp_trace_cache_get_generation   (ImpTraceCache *self);
gboolean       imp_trace_cache_get_sample       (ImpTraceCache *self,
                                                 guint          channel,
                                                 gint64         column,
                                                 float         *value);
gboolean       imp_trace_cache_summarise        (GArray        *mids,
                                                 GArray        *mins,
                                                 GArray        *maxs,
                                                 double         tail,
                                                 double        *baseline,
                                                 double        *above,
                                                 double        *below);
gboolean       imp_trace_cache_get_extent       (ImpTraceCache *self,
                                                 guint          channel,
                                                 double        *baseline,
                                                 double        *above,
                                                 double        *below);
const char    *imp_trace_cache_get_error        (ImpTraceCache *self);
guint64        imp_trace_cache_get_samples_read (ImpTraceCache *self);
guint64        imp_trace_cache_get_bins_read    (ImpTraceCache *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpTraceCache, imp_trace_cache_free)

G_END_DECLS

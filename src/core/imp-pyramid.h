/* imp-pyramid.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>
#include <gio/gio.h>

#include "imp-progress.h"
#include "imp-recording.h"

G_BEGIN_DECLS

/* The level-of-detail pyramid of a recording: per channel, the minimum,
 * maximum and mean of bins of IMP_PYRAMID_BASE * IMP_PYRAMID_RATIO^level
 * samples, so that a view of any zoom reads at most a few bins per pixel.
 *
 * It is built once by streaming the recording in its storage order (all
 * channels advance together, so at any moment samples [0, built) of every
 * channel are ready), and stored in the recording's project file
 * (imp-project.h), from which the next open reuses it. Bins never span a
 * sweep boundary's gap: bins are laid on sample indices, like reads.
 *
 * Every function is thread-safe: the view queries while a worker builds. */

#define IMP_PYRAMID_BASE  64
#define IMP_PYRAMID_RATIO 4

typedef struct _ImpPyramid ImpPyramid;

/* Opens the pyramid of @recording from @project_path (NULL: the default
 * project file, imp_project_path_for()). A missing, stale (the recording
 * changed) or damaged pyramid is not an error: the result then has nothing
 * built yet. NULL only when the recording itself cannot be described.
 * Takes tens of milliseconds (the project file is first checked in a
 * child process, and the coarse levels, at most 32 MB, are read): better
 * called from a worker. */
ImpPyramid   *imp_pyramid_open              (ImpRecording   *recording,
                                             const char     *project_path,
                                             GError        **error);
ImpPyramid   *imp_pyramid_ref               (ImpPyramid     *self);
void          imp_pyramid_unref             (ImpPyramid     *self);

/* Builds what is missing (nothing if complete) and saves it atomically to
 * the project file; blocking, for a worker thread. Cancellable at every
 * chunk; a cancelled build keeps what was built for queries but saves
 * nothing. If the project file cannot be written the pyramid stays usable
 * in memory and @error says why (IMP_RECORDING_ERROR_IO). */
gboolean      imp_pyramid_build             (ImpPyramid     *self,
                                             ImpProgressFunc progress,
                                             gpointer        user_data,
                                             GCancellable   *cancellable,
                                             GError        **error);

/* Samples [0, n) of every channel are covered by the pyramid. */
gint64        imp_pyramid_get_built_samples (ImpPyramid     *self);
gboolean      imp_pyramid_is_complete       (ImpPyramid     *self);
guint         imp_pyramid_get_n_levels      (ImpPyramid     *self);
gint64        imp_pyramid_bin_samples       (guint           level);
/* Where it was loaded from or will be saved to. */
const char   *imp_pyramid_get_path          (ImpPyramid     *self);
/* Samples per channel that builds of this pyramid read from the
 * recording: 0 when it was loaded from the project file. */
gint64        imp_pyramid_get_samples_read  (ImpPyramid     *self);
/* Whether it stores int16 codes of the channels' scales (else float32). */
gboolean      imp_pyramid_is_int16          (ImpPyramid     *self);

/* Fills @n_columns columns of @samples_per_column samples (>=
 * IMP_PYRAMID_BASE) starting at @first_sample for one channel, from the
 * coarsest level whose bins fit the columns. Columns whose start is
 * aligned to that level's bins and whose width is a multiple of it are
 * exact; otherwise a column also covers the bins it partly overlaps.
 * Columns outside the built range or the recording get NaN; bins are cut
 * at the end of the built range, so a column across it summarises the
 * samples built so far. NaN samples are ignored (an all-NaN column is
 * NaN). @mean may be NULL. Returns the number of bins read. */
gint64        imp_pyramid_query             (ImpPyramid     *self,
                                             guint           channel,
                                             gint64          first_sample,
                                             gint64          samples_per_column,
                                             guint           n_columns,
                                             float          *min,
                                             float          *max,
                                             float          *mean);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpPyramid, imp_pyramid_unref)

G_END_DECLS

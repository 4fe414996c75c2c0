/* imp-session.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "imp-analysis.h"
#include "imp-pyramid.h"
#include "imp-recording.h"

G_BEGIN_DECLS

/* What one window has open: the recording, the analysis result, the
 * selected candidate, the channels chosen and the time in focus. Every view
 * holds the window's session and follows its notify signals; selecting a
 * candidate, choosing channels or moving in time in one view shows the same
 * in the others. */

/* A span of time from the start of the recording, in s. */
typedef struct
{
  double start_s;
  double end_s;
} ImpTimeRange;

#define IMP_TYPE_TIME_RANGE (imp_time_range_get_type ())

GType imp_time_range_get_type (void) G_GNUC_CONST;

#define IMP_TYPE_SESSION (imp_session_get_type ())

G_DECLARE_FINAL_TYPE (ImpSession, imp_session, IMP, SESSION, GObject)

ImpSession        *imp_session_new           (void);

/* property "recording" (nullable) */
ImpRecording      *imp_session_get_recording (ImpSession        *self);
void               imp_session_set_recording (ImpSession        *self,
                                              ImpRecording      *recording);
/* property "result" (nullable); cleared when the recording changes */
ImpAnalysisResult *imp_session_get_result    (ImpSession        *self);
void               imp_session_set_result    (ImpSession        *self,
                                              ImpAnalysisResult *result);
/* property "selected": index into result->candidates, or -1 */
int                imp_session_get_selected  (ImpSession        *self);
void               imp_session_set_selected  (ImpSession        *self,
                                              int                index);
/* convenience: the selected candidate, or NULL */
ImpCandidate      *imp_session_get_selected_candidate (ImpSession *self);
/* property "analyzing": whether an analysis of the recording is running;
 * the window sets it, views read it to say "Analysing…" instead of
 * "run the analysis" while there is no result yet */
gboolean           imp_session_get_analyzing (ImpSession        *self);
void               imp_session_set_analyzing (ImpSession        *self,
                                              gboolean           analyzing);
/* property "pyramid" (nullable): the recording's level-of-detail pyramid,
 * complete or being built; cleared when the recording changes. The window
 * opens and builds it, and says how far: "pyramid-growing" while a build
 * runs, "pyramid-progress" the fraction of samples it covers. */
ImpPyramid        *imp_session_get_pyramid   (ImpSession        *self);
void               imp_session_set_pyramid   (ImpSession        *self,
                                              ImpPyramid        *pyramid);
gboolean           imp_session_get_pyramid_growing  (ImpSession *self);
void               imp_session_set_pyramid_growing  (ImpSession *self,
                                                     gboolean    growing);
double             imp_session_get_pyramid_progress (ImpSession *self);
void               imp_session_set_pyramid_progress (ImpSession *self,
                                                     double      fraction);

/* property "channels": the channels chosen (in the array overview), in
 * ascending order without repeats; none chosen means every view shows its
 * own default. Cleared when the recording changes. */
const guint       *imp_session_get_channels  (ImpSession        *self,
                                              guint             *n_channels);
void               imp_session_set_channels  (ImpSession        *self,
                                              const guint       *channels,
                                              guint              n_channels);
gboolean           imp_session_is_chosen     (ImpSession        *self,
                                              guint              channel);
/* property "shown-channels": the channels the Traces view has in view, in
 * the order of its rows; the Traces view sets it */
const guint       *imp_session_get_shown_channels (ImpSession   *self,
                                                   guint        *n_channels);
void               imp_session_set_shown_channels (ImpSession   *self,
                                                   const guint  *channels,
                                                   guint         n_channels);
/* property "focus" (an ImpTimeRange): the time range in view, which the
 * Traces view follows and sets; FALSE while there is none */
gboolean           imp_session_get_focus     (ImpSession        *self,
                                              double            *start_s,
                                              double            *end_s);
void               imp_session_set_focus     (ImpSession        *self,
                                              double             start_s,
                                              double             end_s);
/* Selects candidate @index, chooses its two channels and focuses on
 * @span_s of time centred on @time_s. */
void               imp_session_show_pair     (ImpSession        *self,
                                              int                index,
                                              double             time_s,
                                              double             span_s);

G_END_DECLS

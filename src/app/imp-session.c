/* imp-session.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "imp-session.h"
#include "imp-types.h"

struct _ImpSession
{
  GObject            parent_instance;

  ImpRecording      *recording;
  ImpAnalysisResult *result;
  int                selected;
  gboolean           analyzing;
  GArray            *channels;        /* guint, ascending */
  GArray            *shown;           /* guint, in row order */
  ImpTimeRange       focus;           /* empty when end_s <= start_s */
  ImpPyramid        *pyramid;
  gboolean           pyramid_growing;
  double             pyramid_progress;
};

G_DEFINE_FINAL_TYPE (ImpSession, imp_session, G_TYPE_OBJECT)

static ImpTimeRange *
imp_time_range_copy (const ImpTimeRange *range)
{
  return g_memdup2 (range, sizeof *range);
}

G_DEFINE_BOXED_TYPE (ImpTimeRange, imp_time_range,
                     imp_time_range_copy, g_free)

enum {
  PROP_0,
  PROP_RECORDING,
  PROP_RESULT,
  PROP_SELECTED,
  PROP_ANALYZING,
  PROP_CHANNELS,
  PROP_SHOWN_CHANNELS,
  PROP_FOCUS,
  PROP_PYRAMID,
  PROP_PYRAMID_GROWING,
  PROP_PYRAMID_PROGRESS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
imp_session_finalize (GObject *object)
{
  ImpSession *self = IMP_SESSION (object);

  g_clear_pointer (&self->result, imp_analysis_result_unref);
  g_clear_pointer (&self->recording, imp_recording_unref);
  g_clear_pointer (&self->channels, g_array_unref);
  g_clear_pointer (&self->shown, g_array_unref);
  g_clear_pointer (&self->pyramid, imp_pyramid_unref);

  G_OBJECT_CLASS (imp_session_parent_class)->finalize (object);
}

static void
imp_session_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  ImpSession *self = IMP_SESSION (object);

  switch (prop_id)
    {
    case PROP_RECORDING:
      g_value_set_boxed (value, self->recording);
      break;

    case PROP_RESULT:
      g_value_set_boxed (value, self->result);
      break;

    case PROP_SELECTED:
      g_value_set_int (value, self->selected);
      break;

    case PROP_ANALYZING:
      g_value_set_boolean (value, self->analyzing);
      break;

    case PROP_CHANNELS:
      g_value_set_boxed (value, self->channels);
      break;

    case PROP_SHOWN_CHANNELS:
      g_value_set_boxed (value, self->shown);
      break;

    case PROP_FOCUS:
      g_value_set_boxed (value, &self->focus);
      break;

    case PROP_PYRAMID:
      g_value_set_boxed (value, self->pyramid);
      break;

    case PROP_PYRAMID_GROWING:
      g_value_set_boolean (value, self->pyramid_growing);
      break;

    case PROP_PYRAMID_PROGRESS:
      g_value_set_double (value, self->pyramid_progress);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_session_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  ImpSession *self = IMP_SESSION (object);

  switch (prop_id)
    {
    case PROP_RECORDING:
      imp_session_set_recording (self, g_value_get_boxed (value));
      break;

    case PROP_RESULT:
      imp_session_set_result (self, g_value_get_boxed (value));
      break;

    case PROP_SELECTED:
      imp_session_set_selected (self, g_value_get_int (value));
      break;

    case PROP_ANALYZING:
      imp_session_set_analyzing (self, g_value_get_boolean (value));
      break;

    case PROP_CHANNELS:
      {
        GArray *array = g_value_get_boxed (value);

        imp_session_set_channels (self,
                                  array != NULL ? (guint *) array->data
                                                : NULL,
                                  array != NULL ? array->len : 0);
      }
      break;

    case PROP_FOCUS:
      {
        const ImpTimeRange *range = g_value_get_boxed (value);

        if (range != NULL)
          imp_session_set_focus (self, range->start_s, range->end_s);
        else
          imp_session_set_focus (self, 0, 0);
      }
      break;

    case PROP_PYRAMID:
      imp_session_set_pyramid (self, g_value_get_boxed (value));
      break;

    case PROP_PYRAMID_GROWING:
      imp_session_set_pyramid_growing (self, g_value_get_boolean (value));
      break;

    case PROP_PYRAMID_PROGRESS:
      imp_session_set_pyramid_progress (self, g_value_get_double (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_session_class_init (ImpSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = imp_session_finalize;
  object_class->get_property = imp_session_get_property;
  object_class->set_property = imp_session_set_property;

  properties[PROP_RECORDING] =
    g_param_spec_boxed ("recording", NULL, NULL,
                        IMP_TYPE_RECORDING,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  properties[PROP_RESULT] =
    g_param_spec_boxed ("result", NULL, NULL,
                        IMP_TYPE_ANALYSIS_RESULT,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  properties[PROP_SELECTED] =
    g_param_spec_int ("selected", NULL, NULL,
                      -1, G_MAXINT, -1,
                      (G_PARAM_READWRITE |
                       G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS));

  properties[PROP_ANALYZING] =
    g_param_spec_boolean ("analyzing", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  properties[PROP_CHANNELS] =
    g_param_spec_boxed ("channels", NULL, NULL,
                        G_TYPE_ARRAY,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  properties[PROP_SHOWN_CHANNELS] =
    g_param_spec_boxed ("shown-channels", NULL, NULL,
                        G_TYPE_ARRAY,
                        (G_PARAM_READABLE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  properties[PROP_FOCUS] =
    g_param_spec_boxed ("focus", NULL, NULL,
                        IMP_TYPE_TIME_RANGE,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  properties[PROP_PYRAMID] =
    g_param_spec_boxed ("pyramid", NULL, NULL,
                        IMP_TYPE_PYRAMID,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  properties[PROP_PYRAMID_GROWING] =
    g_param_spec_boolean ("pyramid-growing", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  properties[PROP_PYRAMID_PROGRESS] =
    g_param_spec_double ("pyramid-progress", NULL, NULL,
                         0, 1, 0,
                         (G_PARAM_READWRITE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
imp_session_init (ImpSession *self)
{
  self->selected = -1;
  self->channels = g_array_new (FALSE, FALSE, sizeof (guint));
  self->shown = g_array_new (FALSE, FALSE, sizeof (guint));
}

/**
 * imp_session_new:
 *
 * Creates a session with nothing open.
 *
 * Returns: (transfer full): a new #ImpSession
 */
ImpSession *
imp_session_new (void)
{
  return g_object_new (IMP_TYPE_SESSION, NULL);
}

/**
 * imp_session_get_recording:
 * @self: a #ImpSession
 *
 * Returns: (transfer none) (nullable): the open recording
 */
ImpRecording *
imp_session_get_recording (ImpSession *self)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), NULL);

  return self->recording;
}

/**
 * imp_session_set_recording:
 * @self: a #ImpSession
 * @recording: (nullable): the recording to show
 *
 * Replaces the recording. The analysis result, the selection, the chosen
 * channels and the focus belong to the old recording, so they are cleared
 * first: views are notified of "selected", "result", "channels",
 * "shown-channels", "focus" and then "recording", in that order.
 */
void
imp_session_set_recording (ImpSession   *self,
                           ImpRecording *recording)
{
  g_return_if_fail (IMP_IS_SESSION (self));

  if (recording == self->recording)
    return;

  imp_session_set_result (self, NULL);
  imp_session_set_channels (self, NULL, 0);
  imp_session_set_shown_channels (self, NULL, 0);
  imp_session_set_focus (self, 0, 0);
  imp_session_set_pyramid (self, NULL);

  g_clear_pointer (&self->recording, imp_recording_unref);
  if (recording != NULL)
    self->recording = imp_recording_ref (recording);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECORDING]);
}

/**
 * imp_session_get_result:
 * @self: a #ImpSession
 *
 * Returns: (transfer none) (nullable): the analysis result
 */
ImpAnalysisResult *
imp_session_get_result (ImpSession *self)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), NULL);

  return self->result;
}

/**
 * imp_session_set_result:
 * @self: a #ImpSession
 * @result: (nullable): the analysis result of the current recording
 *
 * Replaces the result. The selection indexes the old result's candidates,
 * so it is reset to -1.
 */
void
imp_session_set_result (ImpSession        *self,
                        ImpAnalysisResult *result)
{
  g_return_if_fail (IMP_IS_SESSION (self));

  if (result == self->result)
    return;

  imp_session_set_selected (self, -1);

  g_clear_pointer (&self->result, imp_analysis_result_unref);
  if (result != NULL)
    self->result = imp_analysis_result_ref (result);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
}

/**
 * imp_session_get_selected:
 * @self: a #ImpSession
 *
 * Returns: the index of the selected candidate, or -1
 */
int
imp_session_get_selected (ImpSession *self)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), -1);

  return self->selected;
}

/**
 * imp_session_set_selected:
 * @self: a #ImpSession
 * @index: an index into the result's candidates, or -1 for none
 *
 * Selects a candidate everywhere. An index outside the result's candidates
 * is treated as -1.
 */
void
imp_session_set_selected (ImpSession *self,
                          int         index)
{
  g_return_if_fail (IMP_IS_SESSION (self));

  if (index < 0 ||
      self->result == NULL ||
      self->result->candidates == NULL ||
      (guint) index >= self->result->candidates->len)
    index = -1;

  if (index == self->selected)
    return;

  self->selected = index;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

/**
 * imp_session_get_selected_candidate:
 * @self: a #ImpSession
 *
 * Returns: (transfer none) (nullable): the selected candidate
 */
ImpCandidate *
imp_session_get_selected_candidate (ImpSession *self)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), NULL);

  if (self->selected < 0 || self->result == NULL)
    return NULL;

  return g_ptr_array_index (self->result->candidates, self->selected);
}

/**
 * imp_session_get_analyzing:
 * @self: a #ImpSession
 *
 * Returns: %TRUE while an analysis of the recording is running
 */
gboolean
imp_session_get_analyzing (ImpSession *self)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), FALSE);

  return self->analyzing;
}

/**
 * imp_session_set_analyzing:
 * @self: a #ImpSession
 * @analyzing: whether an analysis is running
 *
 * Tells the views that an analysis has started or ended (finished, failed
 * or cancelled). The window that runs the analysis calls it.
 */
void
imp_session_set_analyzing (ImpSession *self,
                           gboolean    analyzing)
{
  g_return_if_fail (IMP_IS_SESSION (self));

  analyzing = !!analyzing;
  if (analyzing == self->analyzing)
    return;

  self->analyzing = analyzing;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ANALYZING]);
}

static int
compare_guint (gconstpointer a,
               gconstpointer b)
{
  guint ua = *(const guint *) a;
  guint ub = *(const guint *) b;

  return (ua > ub) - (ua < ub);
}

static gboolean
same_channels (GArray      *array,
               const guint *channels,
               guint        n_channels)
{
  return array->len == n_channels &&
         (n_channels == 0 ||
          memcmp (array->data, channels, n_channels * sizeof (guint)) == 0);
}

/**
 * imp_session_get_channels:
 * @self: a #ImpSession
 * @n_channels: (out): how many are chosen
 *
 * Returns: (transfer none) (array length=n_channels): the chosen channels,
 *   in ascending order
 */
const guint *
imp_session_get_channels (ImpSession *self,
                          guint      *n_channels)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), NULL);
  g_return_val_if_fail (n_channels != NULL, NULL);

  *n_channels = self->channels->len;
  return (const guint *) self->channels->data;
}

/**
 * imp_session_set_channels:
 * @self: a #ImpSession
 * @channels: (array length=n_channels) (nullable): channel indices
 * @n_channels: how many
 *
 * Chooses channels, in any order; they are kept sorted, without repeats
 * and without indices the recording does not have. None chooses nothing.
 */
void
imp_session_set_channels (ImpSession  *self,
                          const guint *channels,
                          guint        n_channels)
{
  g_autoptr(GArray) sorted = NULL;
  guint limit;
  guint n = 0;

  g_return_if_fail (IMP_IS_SESSION (self));
  g_return_if_fail (channels != NULL || n_channels == 0);

  limit = self->recording != NULL
          ? imp_recording_get_n_channels (self->recording) : 0;
  sorted = g_array_sized_new (FALSE, FALSE, sizeof (guint), n_channels);
  for (guint i = 0; i < n_channels; i++)
    if (channels[i] < limit)
      g_array_append_val (sorted, channels[i]);
  g_array_sort (sorted, compare_guint);
  for (guint i = 0; i < sorted->len; i++)
    if (n == 0 || g_array_index (sorted, guint, i) !=
                  g_array_index (sorted, guint, n - 1))
      g_array_index (sorted, guint, n++) = g_array_index (sorted, guint, i);
  g_array_set_size (sorted, n);

  if (same_channels (self->channels, (guint *) sorted->data, sorted->len))
    return;

  g_array_unref (self->channels);
  self->channels = g_steal_pointer (&sorted);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHANNELS]);
}

/**
 * imp_session_is_chosen:
 * @self: a #ImpSession
 * @channel: a channel index
 *
 * Returns: whether @channel is among the chosen channels
 */
gboolean
imp_session_is_chosen (ImpSession *self,
                       guint       channel)
{
  guint lo = 0;
  guint hi;

  g_return_val_if_fail (IMP_IS_SESSION (self), FALSE);

  hi = self->channels->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      guint value = g_array_index (self->channels, guint, mid);

      if (value == channel)
        return TRUE;
      if (value < channel)
        lo = mid + 1;
      else
        hi = mid;
    }

  return FALSE;
}

/**
 * imp_session_get_shown_channels:
 * @self: a #ImpSession
 * @n_channels: (out): how many
 *
 * Returns: (transfer none) (array length=n_channels): the channels in the
 *   Traces view's visible rows, top to bottom
 */
const guint *
imp_session_get_shown_channels (ImpSession *self,
                                guint      *n_channels)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), NULL);
  g_return_val_if_fail (n_channels != NULL, NULL);

  *n_channels = self->shown->len;
  return (const guint *) self->shown->data;
}

/**
 * imp_session_set_shown_channels:
 * @self: a #ImpSession
 * @channels: (array length=n_channels) (nullable): the visible rows'
 *   channels
 * @n_channels: how many
 *
 * Says which channels the Traces view has in view. Only that view calls
 * it; the others show where it looks.
 */
void
imp_session_set_shown_channels (ImpSession  *self,
                                const guint *channels,
                                guint        n_channels)
{
  g_return_if_fail (IMP_IS_SESSION (self));
  g_return_if_fail (channels != NULL || n_channels == 0);

  if (same_channels (self->shown, channels, n_channels))
    return;

  g_array_set_size (self->shown, 0);
  if (n_channels > 0)
    g_array_append_vals (self->shown, channels, n_channels);
  g_object_notify_by_pspec (G_OBJECT (self),
                            properties[PROP_SHOWN_CHANNELS]);
}

/**
 * imp_session_get_focus:
 * @self: a #ImpSession
 * @start_s: (out) (optional): where the range in focus starts, in s
 * @end_s: (out) (optional): where it ends
 *
 * Returns: %FALSE while no range is in focus
 */
gboolean
imp_session_get_focus (ImpSession *self,
                       double     *start_s,
                       double     *end_s)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), FALSE);

  if (start_s != NULL)
    *start_s = self->focus.start_s;
  if (end_s != NULL)
    *end_s = self->focus.end_s;
  return self->focus.end_s > self->focus.start_s;
}

/**
 * imp_session_set_focus:
 * @self: a #ImpSession
 * @start_s: where the range starts, in s from the start of the recording
 * @end_s: where it ends; not after @start_s for none
 *
 * Moves the time in focus. Views that show time follow it.
 */
void
imp_session_set_focus (ImpSession *self,
                       double      start_s,
                       double      end_s)
{
  g_return_if_fail (IMP_IS_SESSION (self));

  if (!isfinite (start_s) || !isfinite (end_s) || end_s <= start_s)
    start_s = end_s = 0;

  if (start_s == self->focus.start_s && end_s == self->focus.end_s)
    return;

  self->focus.start_s = start_s;
  self->focus.end_s = end_s;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOCUS]);
}

/**
 * imp_session_show_pair:
 * @self: a #ImpSession
 * @index: an index into the result's candidates
 * @time_s: the time to show, in s
 * @span_s: how much time to show around it
 *
 * Shows a candidate at one moment: selects it, chooses its presynaptic
 * and postsynaptic channels and puts @time_s in the middle of the focus,
 * in that order, so that views which follow all three end on the pair at
 * that time.
 */
void
imp_session_show_pair (ImpSession *self,
                       int         index,
                       double      time_s,
                       double      span_s)
{
  ImpCandidate *candidate;
  guint channels[2];

  g_return_if_fail (IMP_IS_SESSION (self));
  g_return_if_fail (span_s > 0);

  imp_session_set_selected (self, index);
  candidate = imp_session_get_selected_candidate (self);
  if (candidate == NULL)
    return;

  channels[0] = candidate->pre;
  channels[1] = candidate->post;
  imp_session_set_channels (self, channels, 2);
  imp_session_set_focus (self, time_s - span_s / 2, time_s + span_s / 2);
}

/**
 * imp_session_get_pyramid:
 * @self: a #ImpSession
 *
 * Returns: (transfer none) (nullable): the recording's pyramid
 */
ImpPyramid *
imp_session_get_pyramid (ImpSession *self)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), NULL);

  return self->pyramid;
}

/**
 * imp_session_set_pyramid:
 * @self: a #ImpSession
 * @pyramid: (nullable): the pyramid of the current recording
 *
 * Replaces the pyramid; "pyramid-growing" is cleared and
 * "pyramid-progress" set to what @pyramid covers.
 */
void
imp_session_set_pyramid (ImpSession *self,
                         ImpPyramid *pyramid)
{
  double progress = 0;

  g_return_if_fail (IMP_IS_SESSION (self));

  if (pyramid == self->pyramid)
    return;

  imp_session_set_pyramid_growing (self, FALSE);

  g_clear_pointer (&self->pyramid, imp_pyramid_unref);
  if (pyramid != NULL)
    {
      gint64 n = self->recording != NULL
                 ? imp_recording_get_n_samples (self->recording) : 0;

      self->pyramid = imp_pyramid_ref (pyramid);
      progress = imp_pyramid_is_complete (pyramid) || n <= 0
                 ? 1.0
                 : (double) imp_pyramid_get_built_samples (pyramid) / n;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PYRAMID]);
  imp_session_set_pyramid_progress (self, progress);
}

/**
 * imp_session_get_pyramid_growing:
 * @self: a #ImpSession
 *
 * Returns: whether the pyramid is being built
 */
gboolean
imp_session_get_pyramid_growing (ImpSession *self)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), FALSE);

  return self->pyramid_growing;
}

/**
 * imp_session_set_pyramid_growing:
 * @self: a #ImpSession
 * @growing: whether the pyramid is being built
 */
void
imp_session_set_pyramid_growing (ImpSession *self,
                                 gboolean    growing)
{
  g_return_if_fail (IMP_IS_SESSION (self));

  growing = !!growing && self->pyramid != NULL;
  if (growing == self->pyramid_growing)
    return;

  self->pyramid_growing = growing;
  g_object_notify_by_pspec (G_OBJECT (self),
                            properties[PROP_PYRAMID_GROWING]);
}

/**
 * imp_session_get_pyramid_progress:
 * @self: a #ImpSession
 *
 * Returns: the fraction of the recording the pyramid covers, 0 to 1
 */
double
imp_session_get_pyramid_progress (ImpSession *self)
{
  g_return_val_if_fail (IMP_IS_SESSION (self), 0);

  return self->pyramid_progress;
}

/**
 * imp_session_set_pyramid_progress:
 * @self: a #ImpSession
 * @fraction: the fraction of the recording the pyramid covers
 */
void
imp_session_set_pyramid_progress (ImpSession *self,
                                  double      fraction)
{
  g_return_if_fail (IMP_IS_SESSION (self));

  fraction = CLAMP (fraction, 0, 1);
  if (fraction == self->pyramid_progress)
    return;

  self->pyramid_progress = fraction;
  g_object_notify_by_pspec (G_OBJECT (self),
                            properties[PROP_PYRAMID_PROGRESS]);
}

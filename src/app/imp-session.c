/* imp-session.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-session.h"
#include "imp-types.h"

struct _ImpSession
{
  GObject            parent_instance;

  ImpRecording      *recording;
  ImpAnalysisResult *result;
  int                selected;
  gboolean           analyzing;
};

G_DEFINE_FINAL_TYPE (ImpSession, imp_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RECORDING,
  PROP_RESULT,
  PROP_SELECTED,
  PROP_ANALYZING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
imp_session_finalize (GObject *object)
{
  ImpSession *self = IMP_SESSION (object);

  g_clear_pointer (&self->result, imp_analysis_result_unref);
  g_clear_pointer (&self->recording, imp_recording_unref);

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

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
imp_session_init (ImpSession *self)
{
  self->selected = -1;
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
 * Replaces the recording. The analysis result and the selection belong to
 * the old recording, so they are cleared first: views are notified of
 * "selected", "result" and then "recording", in that order.
 */
void
imp_session_set_recording (ImpSession   *self,
                           ImpRecording *recording)
{
  g_return_if_fail (IMP_IS_SESSION (self));

  if (recording == self->recording)
    return;

  imp_session_set_result (self, NULL);

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

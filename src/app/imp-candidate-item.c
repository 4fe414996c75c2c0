/* imp-candidate-item.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-candidate-item.h"
#include "imp-plot.h"

struct _ImpCandidateItem
{
  GObject            parent_instance;
  ImpAnalysisResult *result;
  guint              index;
};

enum {
  PROP_0,
  PROP_INDEX,
  PROP_PRE_LABEL,
  PROP_POST_LABEL,
  PROP_SIGN,
  PROP_AMPLITUDE,
  PROP_LATENCY,
  PROP_P_VALUE,
  PROP_N_APS,
  PROP_AP_AP_P_VALUE,
  PROP_SIGNIFICANT,
  PROP_VERDICT,
  PROP_AP_AP_SIGNIFICANT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ImpCandidateItem, imp_candidate_item, G_TYPE_OBJECT)

static const char *
label_of (ImpCandidateItem *self,
          guint             channel)
{
  if (self->result->labels != NULL && channel < self->result->n_channels
      && self->result->labels[channel] != NULL)
    return self->result->labels[channel];
  return "";
}

static void
imp_candidate_item_finalize (GObject *object)
{
  ImpCandidateItem *self = IMP_CANDIDATE_ITEM (object);

  g_clear_pointer (&self->result, imp_analysis_result_unref);

  G_OBJECT_CLASS (imp_candidate_item_parent_class)->finalize (object);
}

/**
 * imp_candidate_verdict:
 * @c: a candidate
 *
 * Returns: a synapse when @c is significant; otherwise why not, when one
 *   of the analysis's checks withdrew it (an artefact first, as the
 *   strongest reason), or not significant
 */
ImpVerdict
imp_candidate_verdict (const ImpCandidate *c)
{
  g_return_val_if_fail (c != NULL, IMP_VERDICT_NOT_SIGNIFICANT);

  if (c->significant)
    return IMP_VERDICT_SYNAPSE;
  if (c->artefact)
    return IMP_VERDICT_ARTEFACT;
  if (c->common_input)
    return IMP_VERDICT_COMMON_INPUT;
  if (c->polysynaptic)
    return IMP_VERDICT_CHAIN;
  if (c->explained)
    return IMP_VERDICT_EXPLAINED;
  return IMP_VERDICT_NOT_SIGNIFICANT;
}

static void
imp_candidate_item_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ImpCandidateItem *self = IMP_CANDIDATE_ITEM (object);
  const ImpCandidate *c = imp_candidate_item_get_candidate (self);

  switch (prop_id)
    {
    case PROP_INDEX:
      g_value_set_uint (value, self->index);
      break;
    case PROP_PRE_LABEL:
      g_value_set_string (value, label_of (self, c->pre));
      break;
    case PROP_POST_LABEL:
      g_value_set_string (value, label_of (self, c->post));
      break;
    case PROP_SIGN:
      g_value_set_string (value, c->sign == 'I' ? "I" : "E");
      break;
    case PROP_AMPLITUDE:
      g_value_set_double (value, c->amplitude_mv);
      break;
    case PROP_LATENCY:
      /* pairs without an estimate sort after the longest latency */
      g_value_set_double (value, imp_plot_has_latency (c) ? c->latency_ms
                                                          : G_MAXDOUBLE);
      break;
    case PROP_P_VALUE:
      g_value_set_double (value, c->p_value);
      break;
    case PROP_N_APS:
      g_value_set_uint (value, c->n_pre_aps);
      break;
    case PROP_AP_AP_P_VALUE:
      g_value_set_double (value, c->ap_ap_p_value);
      break;
    case PROP_SIGNIFICANT:
      g_value_set_boolean (value, c->significant);
      break;
    case PROP_VERDICT:
      g_value_set_int (value, imp_candidate_verdict (c));
      break;
    case PROP_AP_AP_SIGNIFICANT:
      g_value_set_boolean (value, c->ap_ap_significant);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_candidate_item_class_init (ImpCandidateItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = imp_candidate_item_finalize;
  object_class->get_property = imp_candidate_item_get_property;

  properties[PROP_INDEX] =
    g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_PRE_LABEL] =
    g_param_spec_string ("pre-label", NULL, NULL, NULL, flags);
  properties[PROP_POST_LABEL] =
    g_param_spec_string ("post-label", NULL, NULL, NULL, flags);
  properties[PROP_SIGN] =
    g_param_spec_string ("sign", NULL, NULL, NULL, flags);
  properties[PROP_AMPLITUDE] =
    g_param_spec_double ("amplitude", NULL, NULL,
                         -G_MAXDOUBLE, G_MAXDOUBLE, 0, flags);
  properties[PROP_LATENCY] =
    g_param_spec_double ("latency", NULL, NULL,
                         -G_MAXDOUBLE, G_MAXDOUBLE, 0, flags);
  properties[PROP_P_VALUE] =
    g_param_spec_double ("p-value", NULL, NULL, 0, G_MAXDOUBLE, 1, flags);
  properties[PROP_N_APS] =
    g_param_spec_uint ("n-aps", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_AP_AP_P_VALUE] =
    g_param_spec_double ("ap-ap-p-value", NULL, NULL,
                         0, G_MAXDOUBLE, 1, flags);
  properties[PROP_SIGNIFICANT] =
    g_param_spec_boolean ("significant", NULL, NULL, FALSE, flags);
  properties[PROP_VERDICT] =
    g_param_spec_int ("verdict", NULL, NULL, IMP_VERDICT_SYNAPSE,
                      IMP_VERDICT_NOT_SIGNIFICANT, IMP_VERDICT_SYNAPSE, flags);
  properties[PROP_AP_AP_SIGNIFICANT] =
    g_param_spec_boolean ("ap-ap-significant", NULL, NULL, FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
imp_candidate_item_init (ImpCandidateItem *self)
{
}

/**
 * imp_candidate_item_new:
 * @result: an analysis result
 * @index: a candidate index in @result
 *
 * Returns: (transfer full): an item holding a reference on @result
 */
ImpCandidateItem *
imp_candidate_item_new (ImpAnalysisResult *result,
                        guint              index)
{
  ImpCandidateItem *self;

  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (index < result->candidates->len, NULL);

  self = g_object_new (IMP_TYPE_CANDIDATE_ITEM, NULL);
  self->result = imp_analysis_result_ref (result);
  self->index = index;

  return self;
}

/**
 * imp_candidate_item_get_index:
 * @self: an item
 *
 * Returns: the candidate's index in the result
 */
guint
imp_candidate_item_get_index (ImpCandidateItem *self)
{
  g_return_val_if_fail (IMP_IS_CANDIDATE_ITEM (self), 0);

  return self->index;
}

/**
 * imp_candidate_item_get_candidate:
 * @self: an item
 *
 * Returns: (transfer none): the candidate, owned by the result
 */
const ImpCandidate *
imp_candidate_item_get_candidate (ImpCandidateItem *self)
{
  g_return_val_if_fail (IMP_IS_CANDIDATE_ITEM (self), NULL);

  return g_ptr_array_index (self->result->candidates, self->index);
}

/**
 * imp_candidate_item_get_pre_label:
 * @self: an item
 *
 * Returns: (transfer none): the presynaptic channel's label
 */
const char *
imp_candidate_item_get_pre_label (ImpCandidateItem *self)
{
  g_return_val_if_fail (IMP_IS_CANDIDATE_ITEM (self), NULL);

  return label_of (self, imp_candidate_item_get_candidate (self)->pre);
}

/**
 * imp_candidate_item_get_post_label:
 * @self: an item
 *
 * Returns: (transfer none): the postsynaptic channel's label
 */
const char *
imp_candidate_item_get_post_label (ImpCandidateItem *self)
{
  g_return_val_if_fail (IMP_IS_CANDIDATE_ITEM (self), NULL);

  return label_of (self, imp_candidate_item_get_candidate (self)->post);
}

/**
 * imp_candidate_item_get_alpha:
 * @self: an item
 *
 * Returns: the significance level the candidate was judged at
 */
double
imp_candidate_item_get_alpha (ImpCandidateItem *self)
{
  g_return_val_if_fail (IMP_IS_CANDIDATE_ITEM (self), 0.0);

  return self->result->params.alpha;
}

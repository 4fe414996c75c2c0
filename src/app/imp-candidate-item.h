/* imp-candidate-item.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "imp-analysis.h"

G_BEGIN_DECLS

/* What the analysis made of a candidate, in the order a list sorted by it
 * shows: a synapse, then the responses withdrawn and why, then the rest. */
typedef enum
{
  IMP_VERDICT_SYNAPSE,
  IMP_VERDICT_CHAIN,         /* onsets not time-locked (polysynaptic) */
  IMP_VERDICT_EXPLAINED,     /* explained by another input of the post */
  IMP_VERDICT_COMMON_INPUT,
  IMP_VERDICT_ARTEFACT,
  IMP_VERDICT_NOT_SIGNIFICANT,
} ImpVerdict;

ImpVerdict          imp_candidate_verdict            (const ImpCandidate *c);

/* One candidate of an analysis result as a list item, with its columns as
 * read-only properties so that list sorters can use them. */

#define IMP_TYPE_CANDIDATE_ITEM (imp_candidate_item_get_type ())

G_DECLARE_FINAL_TYPE (ImpCandidateItem, imp_candidate_item,
                      IMP, CANDIDATE_ITEM, GObject)

ImpCandidateItem   *imp_candidate_item_new           (ImpAnalysisResult *result,
                                                      guint              index);
guint               imp_candidate_item_get_index     (ImpCandidateItem  *self);
const ImpCandidate *imp_candidate_item_get_candidate (ImpCandidateItem  *self);
const char         *imp_candidate_item_get_pre_label (ImpCandidateItem  *self);
const char         *imp_candidate_item_get_post_label (ImpCandidateItem *self);
double              imp_candidate_item_get_alpha     (ImpCandidateItem  *self);

G_END_DECLS

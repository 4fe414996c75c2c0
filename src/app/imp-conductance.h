/* imp-conductance.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "imp-analysis.h"

G_BEGIN_DECLS

/* The conductance an N×N crossbar would end up with after the two STDP
 * imprinting rounds driven by the recorded signals, in the idealised form
 * of the "paste" protocol: the cross-point of a presynaptic row and a
 * postsynaptic column rises by an amount that grows with the connection's
 * |amplitude| (from 0.1 to 0.5 of Gmax), the mirror cross-point falls by
 * the same amount, and every other cross-point stays at its starting value.
 *
 * The sign of the synapse plays no part: STDP sees only the timing, and an
 * inhibitory PSP, turned into a spike in round one, follows its presynaptic
 * AP just as an excitatory one does. So an inhibitory connection
 * potentiates its own cross-point too; its sign is kept with the connection
 * for display. A reciprocal pair's two changes land on the same two
 * cross-points and add up, as they would on the device: the stronger
 * direction's cross-point ends potentiated, the weaker's depressed.
 * Values are G / Gmax with the start at IMP_CONDUCTANCE_BASELINE. */

#define IMP_CONDUCTANCE_BASELINE 0.5

typedef struct _ImpConductance ImpConductance;

ImpConductance *imp_conductance_new           (ImpAnalysisResult *result,
                                               gboolean           connected_only);
void            imp_conductance_free          (ImpConductance    *self);

guint           imp_conductance_get_size      (ImpConductance    *self);
guint           imp_conductance_get_channel   (ImpConductance    *self,
                                               guint              index);
int             imp_conductance_find_channel  (ImpConductance    *self,
                                               guint              channel);
double          imp_conductance_get           (ImpConductance    *self,
                                               guint              row,
                                               guint              column);
int             imp_conductance_get_candidate (ImpConductance    *self,
                                               guint              row,
                                               guint              column);
double          imp_conductance_get_max_amplitude (ImpConductance *self);
guint           imp_conductance_get_n_connections (ImpConductance *self);
void            imp_conductance_get_connection (ImpConductance   *self,
                                                guint             index,
                                                guint            *row,
                                                guint            *column,
                                                char             *sign);
double          imp_conductance_get_change    (ImpConductance    *self,
                                               guint              row,
                                               guint              column);
guint           imp_conductance_get_n_reciprocal (ImpConductance *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpConductance, imp_conductance_free)

G_END_DECLS

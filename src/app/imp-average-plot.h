/* imp-average-plot.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "imp-analysis.h"

G_BEGIN_DECLS

/* A candidate's evidence: the AP-triggered average of the postsynaptic
 * membrane potential against time from the presynaptic AP, with the AP and
 * the latency marked, and beside it a strip of the single-trial PSP
 * amplitudes on the same mV axis. */

#define IMP_TYPE_AVERAGE_PLOT (imp_average_plot_get_type ())

G_DECLARE_FINAL_TYPE (ImpAveragePlot, imp_average_plot,
                      IMP, AVERAGE_PLOT, GtkWidget)

GtkWidget *imp_average_plot_new           (void);
void       imp_average_plot_set_candidate (ImpAveragePlot    *self,
                                           ImpAnalysisResult *result,
                                           int                index);

G_END_DECLS

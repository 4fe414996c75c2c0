/* imp-map-layout.h
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

/* The geometry of the connectivity map, kept apart from its drawing: nodes
 * at electrode positions (world units, µm) or on a circle, and edges as
 * quadratic Bézier curves in screen pixels once projected. The map view only
 * draws what this model has placed, and asks it what lies under the
 * pointer. */

typedef enum
{
  IMP_NODE_SPIKING,    /* intracellular access and detected APs */
  IMP_NODE_ACCESS,     /* access, but no APs */
  IMP_NODE_NO_ACCESS,
} ImpNodeRole;

typedef enum
{
  IMP_EDGE_AP_PSP = 1 << 0,  /* significant AP->PSP connection */
  IMP_EDGE_AP_AP  = 1 << 1,  /* significant AP->AP correlation */
  IMP_EDGE_EXTRA  = 1 << 2,  /* the selected, non-significant candidate */
} ImpEdgeKind;

typedef struct
{
  guint       channel;
  const char *label;       /* owned by the result */
  ImpNodeRole role;
  guint       n_aps;
  guint       n_out;       /* significant AP->PSP connections */
  guint       n_in;
  double      wx;          /* world position */
  double      wy;
  double      sx;          /* screen position, after projection */
  double      sy;
} ImpMapNode;

typedef struct
{
  guint       candidate;   /* index into result->candidates */
  ImpEdgeKind kind;
  guint       from;        /* node indices */
  guint       to;
  char        sign;
  double      amplitude_mv;
  double      strength;    /* |amplitude| / largest |amplitude|, 0..1 */
  /* screen geometry, after projection: the stroked curve ends at the
   * arrowhead's base; the arrow points along (ux, uy) to its tip */
  double      x0, y0, cx, cy, x1, y1;
  double      tip_x, tip_y, ux, uy;
  double      mid_x, mid_y;  /* the curve's midpoint */
  double      width;         /* the stroke's width in pixels */
} ImpMapEdge;

typedef struct _ImpMapLayout ImpMapLayout;

ImpMapLayout     *imp_map_layout_new          (ImpAnalysisResult *result,
                                               ImpRecording      *recording);
void              imp_map_layout_free         (ImpMapLayout      *self);

void              imp_map_layout_set_edges    (ImpMapLayout      *self,
                                               ImpEdgeKind        kinds,
                                               int                extra);
guint             imp_map_layout_get_n_nodes  (ImpMapLayout      *self);
const ImpMapNode *imp_map_layout_get_node     (ImpMapLayout      *self,
                                               guint              index);
guint             imp_map_layout_get_n_edges  (ImpMapLayout      *self);
const ImpMapEdge *imp_map_layout_get_edge     (ImpMapLayout      *self,
                                               guint              index);
int               imp_map_layout_find_edge    (ImpMapLayout      *self,
                                               guint              candidate,
                                               ImpEdgeKind        kinds);
gboolean          imp_map_layout_has_positions (ImpMapLayout     *self);
void              imp_map_layout_get_bounds   (ImpMapLayout      *self,
                                               double            *x0,
                                               double            *y0,
                                               double            *x1,
                                               double            *y1);
double            imp_map_layout_get_spacing  (ImpMapLayout      *self);
double            imp_map_layout_get_max_amplitude (ImpMapLayout *self);

void              imp_map_layout_project      (ImpMapLayout      *self,
                                               double             scale,
                                               double             tx,
                                               double             ty,
                                               double             node_radius,
                                               double             edge_scale);
int               imp_map_layout_edge_at      (ImpMapLayout      *self,
                                               double             sx,
                                               double             sy,
                                               double             tolerance);
double            imp_map_layout_edge_width   (const ImpMapEdge  *edge);
int               imp_map_layout_node_at      (ImpMapLayout      *self,
                                               double             sx,
                                               double             sy,
                                               double             tolerance);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpMapLayout, imp_map_layout_free)

G_END_DECLS

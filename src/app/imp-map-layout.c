/* imp-map-layout.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "imp-map-layout.h"

/* How far an edge bows to its left, as a fraction of its length at the
 * midpoint. Because "left" flips with direction, the two edges of a
 * reciprocal pair bow apart; AP->AP edges bow further so that, shown beside
 * the AP->PSP edges, the two analyses never share a curve. */
#define CURVE_AP_PSP 0.12
#define CURVE_AP_AP  0.26
#define HIT_SAMPLES  24

struct _ImpMapLayout
{
  ImpAnalysisResult *result;
  GArray            *nodes;
  GArray            *edges;
  gboolean           has_positions;
  double             bounds[4];       /* of the nodes */
  double             edge_bounds[4];  /* of the nodes and the curves */
  double             spacing;
  double             max_amplitude;
};

typedef struct
{
  double x;
  double y;
} Point;

static void measure_edges (ImpMapLayout *self);

static Point
bezier (Point  p,
        Point  c,
        Point  q,
        double t)
{
  double s = 1.0 - t;
  Point r;

  r.x = s * s * p.x + 2 * s * t * c.x + t * t * q.x;
  r.y = s * s * p.y + 2 * s * t * c.y + t * t * q.y;
  return r;
}

/* The control point of the part of a quadratic Bézier between parameters
 * a and b (its polar form evaluated at (a, b)). */
static Point
sub_control (Point  p,
             Point  c,
             Point  q,
             double a,
             double b)
{
  double wp = (1 - a) * (1 - b);
  double wc = (1 - a) * b + a * (1 - b);
  double wq = a * b;
  Point r;

  r.x = wp * p.x + wc * c.x + wq * q.x;
  r.y = wp * p.y + wc * c.y + wq * q.y;
  return r;
}

/* The parameter in [lo, hi] where the curve is @dist from @centre, by
 * bisection; the distance is taken to rise from lo to hi. */
static double
solve_distance (Point  p,
                Point  c,
                Point  q,
                Point  centre,
                double dist,
                double lo,
                double hi)
{
  for (guint i = 0; i < 30; i++)
    {
      double mid = (lo + hi) / 2;
      Point b = bezier (p, c, q, mid);

      if (hypot (b.x - centre.x, b.y - centre.y) < dist)
        lo = mid;
      else
        hi = mid;
    }

  return (lo + hi) / 2;
}

static double
point_segment_distance (double px,
                        double py,
                        Point  a,
                        Point  b)
{
  double dx = b.x - a.x;
  double dy = b.y - a.y;
  double len2 = dx * dx + dy * dy;
  double t = 0.0;

  if (len2 > 0)
    t = CLAMP (((px - a.x) * dx + (py - a.y) * dy) / len2, 0.0, 1.0);

  return hypot (px - (a.x + t * dx), py - (a.y + t * dy));
}

static ImpNodeRole
node_role (ImpAnalysisResult *result,
           guint              channel)
{
  guint n_aps = 0;

  if (result->aps != NULL && result->aps[channel] != NULL)
    n_aps = result->aps[channel]->len;

  if (n_aps > 0)
    return IMP_NODE_SPIKING;
  if (result->access != NULL
      && result->access[channel] == IMP_ACCESS_INTRACELLULAR)
    return IMP_NODE_ACCESS;
  return IMP_NODE_NO_ACCESS;
}

static gboolean
place_at_electrodes (ImpMapLayout *self,
                     ImpRecording *recording)
{
  gboolean distinct = FALSE;
  const ImpChannel *first;

  if (recording == NULL || self->nodes->len == 0
      || imp_recording_get_n_channels (recording) != self->nodes->len)
    return FALSE;

  first = imp_recording_get_channel (recording, 0);
  for (guint i = 0; i < self->nodes->len; i++)
    {
      const ImpChannel *ch = imp_recording_get_channel (recording, i);

      if (ch == NULL || !ch->has_position
          || !isfinite (ch->x_um) || !isfinite (ch->y_um))
        return FALSE;
      if (ch->x_um != first->x_um || ch->y_um != first->y_um)
        distinct = TRUE;
    }
  if (!distinct)
    return FALSE;

  for (guint i = 0; i < self->nodes->len; i++)
    {
      const ImpChannel *ch = imp_recording_get_channel (recording, i);
      ImpMapNode *node = &g_array_index (self->nodes, ImpMapNode, i);

      node->wx = ch->x_um;
      node->wy = ch->y_um;
    }

  return TRUE;
}

/* Without electrode positions the channels sit on a circle in channel
 * order, about 40 units apart. */
static void
place_on_circle (ImpMapLayout *self)
{
  guint n = self->nodes->len;
  double radius = MAX (60.0, n * 40.0 / (2 * G_PI));

  for (guint i = 0; i < n; i++)
    {
      ImpMapNode *node = &g_array_index (self->nodes, ImpMapNode, i);
      double angle = -G_PI_2 + 2 * G_PI * i / MAX (n, 1);

      node->wx = n > 1 ? radius * cos (angle) : 0.0;
      node->wy = n > 1 ? radius * sin (angle) : 0.0;
    }
}

static void
measure (ImpMapLayout *self)
{
  double *b = self->bounds;
  double best2 = G_MAXDOUBLE;

  b[0] = b[1] = G_MAXDOUBLE;
  b[2] = b[3] = -G_MAXDOUBLE;
  for (guint i = 0; i < self->nodes->len; i++)
    {
      const ImpMapNode *n = &g_array_index (self->nodes, ImpMapNode, i);

      b[0] = MIN (b[0], n->wx);
      b[1] = MIN (b[1], n->wy);
      b[2] = MAX (b[2], n->wx);
      b[3] = MAX (b[3], n->wy);

      for (guint j = i + 1; j < self->nodes->len; j++)
        {
          const ImpMapNode *m = &g_array_index (self->nodes, ImpMapNode, j);
          double dx = m->wx - n->wx;
          double dy = m->wy - n->wy;
          double d2 = dx * dx + dy * dy;

          if (d2 > 0 && d2 < best2)
            best2 = d2;
        }
    }

  if (self->nodes->len == 0)
    b[0] = b[1] = b[2] = b[3] = 0.0;

  self->spacing = best2 < G_MAXDOUBLE ? sqrt (best2) : 100.0;
}

/**
 * imp_map_layout_new:
 * @result: an analysis result
 * @recording: (nullable): its recording, for electrode positions
 *
 * Places one node per channel of @result. No edges until
 * imp_map_layout_set_edges().
 *
 * Returns: (transfer full): the layout
 */
ImpMapLayout *
imp_map_layout_new (ImpAnalysisResult *result,
                    ImpRecording      *recording)
{
  ImpMapLayout *self;

  g_return_val_if_fail (result != NULL, NULL);

  self = g_new0 (ImpMapLayout, 1);
  self->result = imp_analysis_result_ref (result);
  self->nodes = g_array_sized_new (FALSE, TRUE, sizeof (ImpMapNode),
                                   result->n_channels);
  self->edges = g_array_new (FALSE, TRUE, sizeof (ImpMapEdge));

  for (guint i = 0; i < result->n_channels; i++)
    {
      ImpMapNode node = { 0 };

      node.channel = i;
      node.label = result->labels != NULL ? result->labels[i] : NULL;
      node.role = node_role (result, i);
      if (result->aps != NULL && result->aps[i] != NULL)
        node.n_aps = result->aps[i]->len;
      g_array_append_val (self->nodes, node);
    }

  for (guint i = 0; result->candidates && i < result->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (result->candidates, i);

      if (!c->significant || c->pre >= result->n_channels
          || c->post >= result->n_channels)
        continue;
      g_array_index (self->nodes, ImpMapNode, c->pre).n_out++;
      g_array_index (self->nodes, ImpMapNode, c->post).n_in++;
      self->max_amplitude = MAX (self->max_amplitude, fabs (c->amplitude_mv));
    }

  self->has_positions = place_at_electrodes (self, recording);
  if (!self->has_positions)
    place_on_circle (self);
  measure (self);
  measure_edges (self);

  return self;
}

/**
 * imp_map_layout_free:
 * @self: a layout
 */
void
imp_map_layout_free (ImpMapLayout *self)
{
  if (self == NULL)
    return;

  g_array_unref (self->nodes);
  g_array_unref (self->edges);
  imp_analysis_result_unref (self->result);
  g_free (self);
}

static void
append_edge (ImpMapLayout       *self,
             guint               index,
             const ImpCandidate *c,
             ImpEdgeKind         kind)
{
  ImpMapEdge edge = { 0 };

  edge.candidate = index;
  edge.kind = kind;
  edge.from = c->pre;
  edge.to = c->post;
  edge.sign = c->sign;
  edge.amplitude_mv = c->amplitude_mv;
  if (self->max_amplitude > 0)
    edge.strength = MIN (fabs (c->amplitude_mv) / self->max_amplitude, 1.0);
  g_array_append_val (self->edges, edge);
}

/* The curves bow outside the nodes' box; fitting the view must keep
 * them in sight. */
static void
measure_edges (ImpMapLayout *self)
{
  double *b = self->edge_bounds;

  memcpy (b, self->bounds, sizeof self->bounds);
  for (guint i = 0; i < self->edges->len; i++)
    {
      const ImpMapEdge *e = &g_array_index (self->edges, ImpMapEdge, i);
      const ImpMapNode *p = &g_array_index (self->nodes, ImpMapNode, e->from);
      const ImpMapNode *q = &g_array_index (self->nodes, ImpMapNode, e->to);
      double bow = e->kind == IMP_EDGE_AP_AP ? CURVE_AP_AP : CURVE_AP_PSP;
      double x = (p->wx + q->wx) / 2 - (q->wy - p->wy) * bow;
      double y = (p->wy + q->wy) / 2 + (q->wx - p->wx) * bow;

      b[0] = MIN (b[0], x);
      b[1] = MIN (b[1], y);
      b[2] = MAX (b[2], x);
      b[3] = MAX (b[3], y);
    }
}

/**
 * imp_map_layout_set_edges:
 * @self: a layout
 * @kinds: which connections to show: %IMP_EDGE_AP_PSP, %IMP_EDGE_AP_AP or both
 * @extra: a candidate index to show even if it is not significant, or -1
 *
 * Rebuilds the edges, in candidate order (most significant first). Call
 * imp_map_layout_project() before reading their screen geometry.
 */
void
imp_map_layout_set_edges (ImpMapLayout *self,
                          ImpEdgeKind   kinds,
                          int           extra)
{
  GPtrArray *candidates;

  g_return_if_fail (self != NULL);

  candidates = self->result->candidates;
  g_array_set_size (self->edges, 0);

  for (guint i = 0; candidates != NULL && i < candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (candidates, i);
      gboolean shown = FALSE;

      if (c->pre >= self->nodes->len || c->post >= self->nodes->len
          || c->pre == c->post)
        continue;

      if ((kinds & IMP_EDGE_AP_AP) && c->ap_ap_significant)
        append_edge (self, i, c, IMP_EDGE_AP_AP);
      if ((kinds & IMP_EDGE_AP_PSP) && c->significant)
        {
          append_edge (self, i, c, IMP_EDGE_AP_PSP);
          shown = TRUE;
        }
      if ((int) i == extra && !shown)
        append_edge (self, i, c, IMP_EDGE_EXTRA);
    }

  measure_edges (self);
}

/**
 * imp_map_layout_get_n_nodes:
 * @self: a layout
 *
 * Returns: the number of nodes, one per channel
 */
guint
imp_map_layout_get_n_nodes (ImpMapLayout *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->nodes->len;
}

/**
 * imp_map_layout_get_node:
 * @self: a layout
 * @index: a node, which is also its channel
 *
 * Returns: (transfer none): the node
 */
const ImpMapNode *
imp_map_layout_get_node (ImpMapLayout *self,
                         guint         index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->nodes->len, NULL);

  return &g_array_index (self->nodes, ImpMapNode, index);
}

/**
 * imp_map_layout_get_n_edges:
 * @self: a layout
 *
 * Returns: the number of edges shown
 */
guint
imp_map_layout_get_n_edges (ImpMapLayout *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->edges->len;
}

/**
 * imp_map_layout_get_edge:
 * @self: a layout
 * @index: an edge
 *
 * Returns: (transfer none): the edge, valid until the edges are rebuilt
 */
const ImpMapEdge *
imp_map_layout_get_edge (ImpMapLayout *self,
                         guint         index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->edges->len, NULL);

  return &g_array_index (self->edges, ImpMapEdge, index);
}

/**
 * imp_map_layout_find_edge:
 * @self: a layout
 * @candidate: a candidate index
 * @kinds: the edge kinds to accept
 *
 * Returns: the edge index of @candidate among @kinds, or -1
 */
int
imp_map_layout_find_edge (ImpMapLayout *self,
                          guint         candidate,
                          ImpEdgeKind   kinds)
{
  g_return_val_if_fail (self != NULL, -1);

  for (guint i = 0; i < self->edges->len; i++)
    {
      const ImpMapEdge *e = &g_array_index (self->edges, ImpMapEdge, i);

      if (e->candidate == candidate && (e->kind & kinds))
        return i;
    }

  return -1;
}

/**
 * imp_map_layout_has_positions:
 * @self: a layout
 *
 * Returns: %TRUE when the nodes sit at electrode positions, %FALSE when
 *   they are on a circle
 */
gboolean
imp_map_layout_has_positions (ImpMapLayout *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->has_positions;
}

/**
 * imp_map_layout_get_bounds:
 * @self: a layout
 * @x0: (out): smallest world x of a node or of an edge's bow
 * @y0: (out): smallest world y
 * @x1: (out): largest world x
 * @y1: (out): largest world y
 */
void
imp_map_layout_get_bounds (ImpMapLayout *self,
                           double       *x0,
                           double       *y0,
                           double       *x1,
                           double       *y1)
{
  g_return_if_fail (self != NULL);

  *x0 = self->edge_bounds[0];
  *y0 = self->edge_bounds[1];
  *x1 = self->edge_bounds[2];
  *y1 = self->edge_bounds[3];
}

/**
 * imp_map_layout_get_spacing:
 * @self: a layout
 *
 * Returns: the smallest distance between two nodes, in world units
 */
double
imp_map_layout_get_spacing (ImpMapLayout *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  return self->spacing;
}

/**
 * imp_map_layout_get_max_amplitude:
 * @self: a layout
 *
 * Returns: the largest |amplitude| of a significant connection, mV
 */
double
imp_map_layout_get_max_amplitude (ImpMapLayout *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  return self->max_amplitude;
}

/* Edge width in pixels before scaling: 1 px for the weakest, 5 px for the
 * strongest connection; the comparison edges keep one width. */
static double
base_width (const ImpMapEdge *e)
{
  if (e->kind == IMP_EDGE_AP_PSP)
    return 1.0 + 4.0 * e->strength;
  return 1.5;
}

static double
edge_width (const ImpMapEdge *e)
{
  return e->width > 0 ? e->width : base_width (e);
}

static void
project_edge (ImpMapEdge *e,
              Point       p,
              Point       q,
              double      radius)
{
  double dx = q.x - p.x;
  double dy = q.y - p.y;
  double len = hypot (dx, dy);
  double bow = (e->kind == IMP_EDGE_AP_AP) ? CURVE_AP_AP : CURVE_AP_PSP;
  double arrow = 5.0 + 2.0 * edge_width (e);
  double t0, t_tip, t_base;
  Point c, start, ctl, base, tip;

  if (len < 1e-6)
    {
      e->x0 = e->cx = e->x1 = e->tip_x = e->mid_x = p.x;
      e->y0 = e->cy = e->y1 = e->tip_y = e->mid_y = p.y;
      e->ux = 1.0;
      e->uy = 0.0;
      return;
    }

  /* at the midpoint a quadratic Bézier lies halfway to its control point */
  c.x = (p.x + q.x) / 2 + (-dy / len) * 2 * bow * len;
  c.y = (p.y + q.y) / 2 + (dx / len) * 2 * bow * len;

  radius = MIN (radius, 0.2 * len);
  arrow = MIN (arrow, 0.2 * len);
  t0 = solve_distance (p, c, q, p, radius, 0.0, 0.5);
  t_tip = 1.0 - solve_distance (q, c, p, q, radius, 0.0, 0.5);
  t_base = 1.0 - solve_distance (q, c, p, q, radius + arrow, 0.0, 0.5);

  start = bezier (p, c, q, t0);
  base = bezier (p, c, q, t_base);
  tip = bezier (p, c, q, t_tip);
  ctl = sub_control (p, c, q, t0, t_base);

  e->x0 = start.x;
  e->y0 = start.y;
  e->cx = ctl.x;
  e->cy = ctl.y;
  e->x1 = base.x;
  e->y1 = base.y;
  e->tip_x = tip.x;
  e->tip_y = tip.y;
  e->ux = tip.x - base.x;
  e->uy = tip.y - base.y;
  len = hypot (e->ux, e->uy);
  if (len > 0)
    {
      e->ux /= len;
      e->uy /= len;
    }

  c = bezier (p, c, q, 0.5);
  e->mid_x = c.x;
  e->mid_y = c.y;
}

/**
 * imp_map_layout_project:
 * @self: a layout
 * @scale: pixels per world unit
 * @tx: screen x of world x = 0
 * @ty: screen y of world y = 0
 * @node_radius: node radius in pixels; edges end at the node's rim
 * @edge_scale: multiplies the edges' widths (1 px to 5 px by strength), so
 *   that a dense map can draw them thinner
 *
 * Maps nodes and edges to screen coordinates.
 */
void
imp_map_layout_project (ImpMapLayout *self,
                        double        scale,
                        double        tx,
                        double        ty,
                        double        node_radius,
                        double        edge_scale)
{
  g_return_if_fail (self != NULL);

  for (guint i = 0; i < self->nodes->len; i++)
    {
      ImpMapNode *n = &g_array_index (self->nodes, ImpMapNode, i);

      n->sx = n->wx * scale + tx;
      n->sy = n->wy * scale + ty;
    }

  for (guint i = 0; i < self->edges->len; i++)
    {
      ImpMapEdge *e = &g_array_index (self->edges, ImpMapEdge, i);
      const ImpMapNode *a = &g_array_index (self->nodes, ImpMapNode, e->from);
      const ImpMapNode *b = &g_array_index (self->nodes, ImpMapNode, e->to);
      Point p = { a->sx, a->sy };
      Point q = { b->sx, b->sy };

      e->width = base_width (e) * edge_scale;
      project_edge (e, p, q, node_radius + 1.5);
    }
}

static double
edge_distance (const ImpMapEdge *e,
               double            x,
               double            y)
{
  Point p = { e->x0, e->y0 };
  Point c = { e->cx, e->cy };
  Point q = { e->x1, e->y1 };
  Point prev = p;
  Point tip = { e->tip_x, e->tip_y };
  double best;

  best = point_segment_distance (x, y, q, tip);
  for (guint i = 1; i <= HIT_SAMPLES; i++)
    {
      Point b = bezier (p, c, q, (double) i / HIT_SAMPLES);

      best = MIN (best, point_segment_distance (x, y, prev, b));
      prev = b;
    }

  return best;
}

/**
 * imp_map_layout_edge_at:
 * @self: a projected layout
 * @sx: screen x
 * @sy: screen y
 * @tolerance: how far from the stroke's edge a hit may be, in pixels
 *
 * Returns: the index of the nearest edge within reach, or -1
 */
int
imp_map_layout_edge_at (ImpMapLayout *self,
                        double        sx,
                        double        sy,
                        double        tolerance)
{
  double best = G_MAXDOUBLE;
  int found = -1;

  g_return_val_if_fail (self != NULL, -1);

  for (guint i = 0; i < self->edges->len; i++)
    {
      const ImpMapEdge *e = &g_array_index (self->edges, ImpMapEdge, i);
      double reach = tolerance + edge_width (e) / 2;
      double d;

      if (sx < MIN (MIN (e->x0, e->cx), MIN (e->x1, e->tip_x)) - reach
          || sx > MAX (MAX (e->x0, e->cx), MAX (e->x1, e->tip_x)) + reach
          || sy < MIN (MIN (e->y0, e->cy), MIN (e->y1, e->tip_y)) - reach
          || sy > MAX (MAX (e->y0, e->cy), MAX (e->y1, e->tip_y)) + reach)
        continue;

      d = edge_distance (e, sx, sy);
      if (d <= reach && d < best)
        {
          best = d;
          found = i;
        }
    }

  return found;
}

/**
 * imp_map_layout_edge_width:
 * @edge: an edge
 *
 * Returns: the stroke width in pixels
 */
double
imp_map_layout_edge_width (const ImpMapEdge *edge)
{
  return edge_width (edge);
}

/**
 * imp_map_layout_node_at:
 * @self: a projected layout
 * @sx: screen x
 * @sy: screen y
 * @tolerance: the hit radius in pixels
 *
 * Returns: the index of the nearest node within @tolerance, or -1
 */
int
imp_map_layout_node_at (ImpMapLayout *self,
                        double        sx,
                        double        sy,
                        double        tolerance)
{
  double best = tolerance;
  int found = -1;

  g_return_val_if_fail (self != NULL, -1);

  for (guint i = 0; i < self->nodes->len; i++)
    {
      const ImpMapNode *n = &g_array_index (self->nodes, ImpMapNode, i);
      double d = hypot (n->sx - sx, n->sy - sy);

      if (d <= best)
        {
          best = d;
          found = i;
        }
    }

  return found;
}

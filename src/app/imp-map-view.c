/* imp-map-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <adwaita.h>
#include <glib/gi18n.h>

#include "imp-map-layout.h"
#include "imp-map-view-private.h"
#include "imp-plot.h"

#define PAD          28.0
#define LABEL_SPACE  12.0   /* labels hang below the nodes */
#define MIN_SCALE    1e-4
#define MAX_SCALE    1e3
#define EDGE_SLOP    5.0
#define ZOOM_STEP    1.25
#define CLICK_SLOP   4.0    /* a press that moves further is a drag */

struct _ImpMapView
{
  GtkWidget     parent_instance;

  ImpSession   *session;
  ImpMapLayout *layout;
  ImpEdgeKind   kinds;

  /* view transform: screen = world * scale + (tx, ty) */
  double        scale;
  double        tx;
  double        ty;
  gboolean      fitted;
  double        node_radius;
  double        legend_width;
  double        drag_tx;
  double        drag_ty;
  double        pinch_scale;
  double        pointer_x;
  double        pointer_y;
  double        press_x;
  double        press_y;
  double        label_width;   /* the widest node label, in pixels */
  double        label_height;

  int           hover_edge;
  int           hover_node;
  int           focus_node;
  int           key_edge;

  GtkWidget    *stack;
  GtkWidget    *status_page;
  GtkWidget    *canvas;
  GtkWidget    *summary;
  GtkWidget    *mode_psp;
  GtkWidget    *mode_ap;
  GtkWidget    *mode_both;
  GtkWidget    *show_button;
};

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ImpMapView, imp_map_view, GTK_TYPE_WIDGET)

static ImpAnalysisResult *
get_result (ImpMapView *self)
{
  return self->session != NULL ? imp_session_get_result (self->session) : NULL;
}

static const ImpCandidate *
get_candidate (ImpMapView *self,
               guint       index)
{
  ImpAnalysisResult *result = get_result (self);

  if (result == NULL || result->candidates == NULL
      || index >= result->candidates->len)
    return NULL;
  return g_ptr_array_index (result->candidates, index);
}

static const char *
channel_label (ImpMapView *self,
               guint       channel)
{
  ImpAnalysisResult *result = get_result (self);

  if (result != NULL && result->labels != NULL
      && channel < result->n_channels && result->labels[channel] != NULL)
    return result->labels[channel];
  return "?";
}

/* Geometry */

static double
fit_width (ImpMapView *self,
           int         width)
{
  /* keep the map clear of the legend when there is room for both */
  if (width > 3 * self->legend_width)
    return width - self->legend_width - 12;
  return width;
}

static void
fit (ImpMapView *self,
     int         width,
     int         height)
{
  double x0, y0, x1, y1;
  double avail_w = fit_width (self, width) - 2 * PAD;
  double avail_h = height - 2 * PAD - LABEL_SPACE;
  double bw, bh;

  imp_map_layout_get_bounds (self->layout, &x0, &y0, &x1, &y1);
  bw = MAX (x1 - x0, 1e-9);
  bh = MAX (y1 - y0, 1e-9);
  self->scale = MIN (MAX (avail_w, 1) / bw, MAX (avail_h, 1) / bh);
  /* a single node or a single row must not blow up to a few pixels' worth
   * of world: never show less than two node spacings across */
  self->scale = MIN (self->scale,
                     MAX (avail_w, 1)
                     / (2 * imp_map_layout_get_spacing (self->layout)));
  self->scale = CLAMP (self->scale, MIN_SCALE, MAX_SCALE);
  self->tx = PAD + (avail_w - (x1 - x0) * self->scale) / 2 - x0 * self->scale;
  self->ty = PAD + (avail_h - (y1 - y0) * self->scale) / 2 - y0 * self->scale;
}

static void
ensure_projected (ImpMapView *self)
{
  int width = gtk_widget_get_width (self->canvas);
  int height = gtk_widget_get_height (self->canvas);
  double room;

  if (self->layout == NULL)
    return;

  if (self->fitted)
    fit (self, width, height);

  /* nodes shrink with their spacing so that neighbours never touch, and
   * edges thin out so that a dense map does not bury its nodes */
  room = imp_map_layout_get_spacing (self->layout) * self->scale;
  self->node_radius = CLAMP (room * 0.3, 1.0, 10.0);
  imp_map_layout_project (self->layout, self->scale, self->tx, self->ty,
                          self->node_radius, CLAMP (room / 60, 0.35, 1.0));
}

static void
rebuild_edges (ImpMapView *self)
{
  if (self->layout == NULL)
    return;

  imp_map_layout_set_edges (self->layout, self->kinds,
                            imp_session_get_selected (self->session));
  self->hover_edge = -1;
  self->key_edge = -1;
}

static void
update_summary (ImpMapView *self)
{
  ImpAnalysisResult *result = get_result (self);
  g_autofree char *text = NULL;

  if (result == NULL)
    return;

  if (result->n_connections == 0 && result->n_ap_ap_connections == 0)
    text = g_strdup_printf (_("No significant connections among %u channels"),
                            result->n_channels);
  else
    text = g_strdup_printf (_("%u AP→PSP and %u AP→AP connections among %u "
                              "channels"),
                            result->n_connections,
                            result->n_ap_ap_connections,
                            result->n_channels);
  gtk_label_set_text (GTK_LABEL (self->summary), text);
}

/* Shows the status page when there is no map to draw, saying why. */
static gboolean
show_status (ImpMapView *self)
{
  ImpAnalysisResult *result = get_result (self);
  AdwStatusPage *page = ADW_STATUS_PAGE (self->status_page);
  const char *title = _("No Connectivity Map");
  const char *description;

  switch (imp_plot_get_view_state (self->session))
    {
    case IMP_VIEW_STATE_NO_RECORDING:
      description = _("Open a recording and run the analysis to map its "
                      "connections.");
      break;
    case IMP_VIEW_STATE_ANALYSING:
      title = _("Analysing…");
      description = _("The connections are mapped when the analysis has "
                      "finished.");
      break;
    case IMP_VIEW_STATE_NOT_ANALYSED:
      title = _("Not Analysed");
      description = _("Run the analysis (Ctrl+R) to map the recording's "
                      "connections.");
      break;
    case IMP_VIEW_STATE_NO_RESULT:
      title = _("No Analysis Yet");
      description = _("The analysis has not been run yet or is still "
                      "running; the connections are mapped when it has "
                      "finished.");
      break;
    case IMP_VIEW_STATE_READY:
    default:
      if (result->n_channels > 0)
        return FALSE;
      description = _("The analysis found no channels to place.");
      break;
    }

  adw_status_page_set_title (page, title);
  adw_status_page_set_description (page, description);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
  return TRUE;
}

static void
measure_labels (ImpMapView *self)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.8);
  guint n = imp_map_layout_get_n_nodes (self->layout);

  self->label_width = 0;
  self->label_height = 0;
  for (guint i = 0; i < n; i++)
    {
      const ImpMapNode *node = imp_map_layout_get_node (self->layout, i);
      double w, h;

      if (node->label == NULL)
        continue;
      imp_plot_text_size (text, node->label, &w, &h);
      self->label_width = MAX (self->label_width, w);
      self->label_height = MAX (self->label_height, h);
    }
}

static void
rebuild (ImpMapView *self)
{
  ImpAnalysisResult *result = get_result (self);

  g_clear_pointer (&self->layout, imp_map_layout_free);
  self->hover_edge = self->hover_node = self->focus_node = -1;
  self->key_edge = -1;

  if (show_status (self))
    return;

  self->layout = imp_map_layout_new (result,
                                     imp_session_get_recording (self->session));
  measure_labels (self);
  self->fitted = TRUE;
  rebuild_edges (self);
  update_summary (self);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "map");
  gtk_widget_queue_draw (self->canvas);
}

/* Drawing */

static void panel_background (const GdkRGBA *fg,
                              GdkRGBA       *bg);

static void
edge_path (cairo_t          *cr,
           const ImpMapEdge *e)
{
  /* a quadratic Bézier as the cubic cairo wants */
  cairo_move_to (cr, e->x0, e->y0);
  cairo_curve_to (cr,
                  e->x0 + 2.0 / 3.0 * (e->cx - e->x0),
                  e->y0 + 2.0 / 3.0 * (e->cy - e->y0),
                  e->x1 + 2.0 / 3.0 * (e->cx - e->x1),
                  e->y1 + 2.0 / 3.0 * (e->cy - e->y1),
                  e->x1, e->y1);
}

static void
arrow_path (cairo_t          *cr,
            const ImpMapEdge *e,
            double            grow)
{
  double len = hypot (e->tip_x - e->x1, e->tip_y - e->y1) + grow;
  double half = MAX (len * 0.55, imp_map_layout_edge_width (e) * 0.9 + grow);
  double bx = e->tip_x - e->ux * len;
  double by = e->tip_y - e->uy * len;

  cairo_move_to (cr, e->tip_x + e->ux * grow * 0.5,
                 e->tip_y + e->uy * grow * 0.5);
  cairo_line_to (cr, bx - e->uy * half, by + e->ux * half);
  cairo_line_to (cr, bx + e->uy * half, by - e->ux * half);
  cairo_close_path (cr);
}

static void
edge_color (const ImpMapEdge *e,
            GdkRGBA          *rgba)
{
  if (e->kind == IMP_EDGE_AP_AP)
    imp_plot_get_color (IMP_PLOT_COLOR_AP_AP, rgba);
  else
    imp_plot_sign_color (e->sign, rgba);
}

static void
draw_edge (ImpMapView       *self,
           cairo_t          *cr,
           const ImpMapEdge *e,
           double            alpha)
{
  double width = imp_map_layout_edge_width (e);
  GdkRGBA color;

  edge_color (e, &color);
  cairo_save (cr);
  imp_plot_set_source (cr, &color, alpha);
  cairo_set_line_width (cr, width);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
  if (e->kind == IMP_EDGE_AP_AP)
    {
      static const double dashes[] = { 6.0, 4.0 };

      cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
    }
  else if (e->kind == IMP_EDGE_EXTRA)
    {
      static const double dots[] = { 2.0, 3.0 };

      cairo_set_dash (cr, dots, G_N_ELEMENTS (dots), 0);
    }
  edge_path (cr, e);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  arrow_path (cr, e, 0.0);
  cairo_fill (cr);
  cairo_restore (cr);
}

static void
draw_halo (cairo_t          *cr,
           const ImpMapEdge *e,
           double            grow,
           double            alpha)
{
  GdkRGBA color;

  imp_plot_get_color (IMP_PLOT_COLOR_SELECTION, &color);
  cairo_save (cr);
  imp_plot_set_source (cr, &color, alpha);
  cairo_set_line_width (cr, imp_map_layout_edge_width (e) + 2 * grow);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  edge_path (cr, e);
  cairo_stroke (cr);
  arrow_path (cr, e, grow);
  cairo_stroke_preserve (cr);
  cairo_fill (cr);
  cairo_restore (cr);
}

static gboolean
edge_touches (const ImpMapEdge *e,
              int               node)
{
  return node >= 0 && ((int) e->from == node || (int) e->to == node);
}

static void
draw_edges (ImpMapView *self,
            cairo_t    *cr,
            int         selected_edge)
{
  guint n = imp_map_layout_get_n_edges (self->layout);
  /* a clicked node, else the one under the pointer, stands out */
  int focus = self->focus_node >= 0 ? self->focus_node : self->hover_node;

  /* least significant first, so the strongest evidence ends up on top */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = n; i-- > 0;)
      {
        const ImpMapEdge *e = imp_map_layout_get_edge (self->layout, i);
        gboolean ap_ap = e->kind == IMP_EDGE_AP_AP;
        double alpha = 0.9;

        if ((pass == 0) != ap_ap || (int) i == selected_edge)
          continue;
        if (focus >= 0 && !edge_touches (e, focus))
          alpha = 0.18;
        if ((int) i == self->hover_edge)
          draw_halo (cr, e, 3.0, 0.45);
        draw_edge (self, cr, e, alpha);
      }

  if (selected_edge >= 0)
    {
      const ImpMapEdge *e = imp_map_layout_get_edge (self->layout,
                                                     selected_edge);

      draw_halo (cr, e, 4.0, 0.85);
      draw_edge (self, cr, e, 1.0);
    }
}

static void
draw_node (ImpMapView       *self,
           cairo_t          *cr,
           const ImpMapNode *node,
           const GdkRGBA    *fg)
{
  GdkRGBA spiking;
  GdkRGBA fill;
  double r = self->node_radius;

  imp_plot_get_color (IMP_PLOT_COLOR_NODE_SPIKING, &spiking);
  switch (node->role)
    {
    case IMP_NODE_SPIKING:
      fill = spiking;
      break;
    case IMP_NODE_ACCESS:
      imp_plot_get_color (IMP_PLOT_COLOR_NODE_ACCESS, &fill);
      break;
    case IMP_NODE_NO_ACCESS:
    default:
      imp_plot_get_color (IMP_PLOT_COLOR_NODE_NONE, &fill);
      r *= 0.6;
      break;
    }

  cairo_new_path (cr);
  cairo_arc (cr, node->sx, node->sy, r, 0, 2 * G_PI);
  imp_plot_set_source (cr, &fill, 1.0);
  cairo_fill_preserve (cr);
  cairo_set_line_width (cr, 1.5);
  if (node->role == IMP_NODE_NO_ACCESS)
    imp_plot_set_source (cr, fg, 0.35);
  else if (node->role == IMP_NODE_ACCESS)
    imp_plot_set_source (cr, &spiking, 1.0);
  else
    imp_plot_set_source (cr, fg, 0.55);
  cairo_stroke (cr);
}

static void
draw_ring (ImpMapView       *self,
           cairo_t          *cr,
           const ImpMapNode *node,
           const GdkRGBA    *color,
           double            alpha)
{
  cairo_new_path (cr);
  cairo_arc (cr, node->sx, node->sy, self->node_radius + 3.5, 0, 2 * G_PI);
  imp_plot_set_source (cr, color, alpha);
  cairo_set_line_width (cr, 2.5);
  cairo_stroke (cr);
}

/* Every node is labelled only when the labels fit between the nodes:
 * side by side, and under a node above the next row. Otherwise only the
 * nodes in hand are: hovered, clicked, or ends of the selected edge. */
static gboolean
labels_fit (ImpMapView *self,
            double      room)
{
  return room >= self->label_width + 6
         && room >= 2 * self->node_radius + self->label_height + 2;
}

static gboolean
label_wanted (ImpMapView       *self,
              guint             index,
              gboolean          all,
              const ImpMapEdge *selected)
{
  if ((int) index == self->hover_node || (int) index == self->focus_node)
    return TRUE;
  if (selected != NULL && (selected->from == index || selected->to == index))
    return TRUE;
  return all;
}

static void
draw_nodes (ImpMapView       *self,
            cairo_t          *cr,
            const GdkRGBA    *fg,
            const ImpMapEdge *selected)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.8);
  guint n = imp_map_layout_get_n_nodes (self->layout);
  gboolean all = labels_fit (self, imp_map_layout_get_spacing (self->layout)
                                   * self->scale);
  GdkRGBA halo;
  GdkRGBA bg;

  imp_plot_get_color (IMP_PLOT_COLOR_SELECTION, &halo);

  for (guint i = 0; i < n; i++)
    draw_node (self, cr, imp_map_layout_get_node (self->layout, i), fg);

  if (selected != NULL)
    {
      draw_ring (self, cr,
                 imp_map_layout_get_node (self->layout, selected->from),
                 &halo, 1.0);
      draw_ring (self, cr,
                 imp_map_layout_get_node (self->layout, selected->to),
                 &halo, 1.0);
    }
  if (self->focus_node >= 0)
    draw_ring (self, cr,
               imp_map_layout_get_node (self->layout, self->focus_node),
               fg, 0.8);
  if (self->hover_node >= 0)
    draw_ring (self, cr,
               imp_map_layout_get_node (self->layout, self->hover_node),
               fg, 0.4);

  panel_background (fg, &bg);
  bg.alpha = 0.9;  /* labels stay legible where an arrowhead ends */
  for (guint i = 0; i < n; i++)
    {
      const ImpMapNode *node = imp_map_layout_get_node (self->layout, i);
      GdkRGBA color = *fg;

      if (node->label == NULL || !label_wanted (self, i, all, selected))
        continue;
      color.alpha *= node->role == IMP_NODE_NO_ACCESS ? 0.55 : 0.9;
      imp_plot_text_backdrop (cr, text, node->label, node->sx,
                              node->sy + self->node_radius + 1, 0.5, 0.0,
                              &color, &bg);
    }
}

static void
panel_background (const GdkRGBA *fg,
                  GdkRGBA       *bg)
{
  /* light text means a dark style */
  double luma = 0.3 * fg->red + 0.59 * fg->green + 0.11 * fg->blue;
  double v = luma > 0.5 ? 0.14 : 1.0;

  bg->red = bg->green = bg->blue = v;
  bg->alpha = 0.9;
}

static void
legend_line (cairo_t       *cr,
             double         x,
             double         y,
             const GdkRGBA *color,
             double         width,
             gboolean       dashed)
{
  static const double dashes[] = { 5.0, 3.0 };

  imp_plot_set_source (cr, color, 1.0);
  cairo_set_line_width (cr, width);
  if (dashed)
    cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  cairo_move_to (cr, x, y);
  cairo_line_to (cr, x + 16, y);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_move_to (cr, x + 24, y);
  cairo_line_to (cr, x + 15, y - 4 - width / 2);
  cairo_line_to (cr, x + 15, y + 4 + width / 2);
  cairo_close_path (cr);
  cairo_fill (cr);
}

typedef enum
{
  KEY_SPIKING,
  KEY_ACCESS,
  KEY_NO_ACCESS,
  KEY_EXCITATORY,
  KEY_INHIBITORY,
  KEY_AP_AP,
  KEY_WIDTH,
  N_KEYS
} LegendKey;

static const char *
legend_text (LegendKey key)
{
  switch (key)
    {
    case KEY_SPIKING:
      return _("Cell with APs");
    case KEY_ACCESS:
      return _("Access, no APs");
    case KEY_NO_ACCESS:
      return _("No intracellular access");
    case KEY_EXCITATORY:
      return _("Excitatory (AP→PSP)");
    case KEY_INHIBITORY:
      return _("Inhibitory (AP→PSP)");
    case KEY_AP_AP:
      return _("AP→AP correlation");
    case KEY_WIDTH:
      return _("Width ∝ |amplitude|");
    case N_KEYS:
    default:
      g_assert_not_reached ();
    }
}

static void
draw_legend_symbol (ImpMapView    *self,
                    cairo_t       *cr,
                    LegendKey      key,
                    double         x,
                    double         y,
                    const GdkRGBA *fg)
{
  ImpMapNode sample = { 0 };
  double radius = self->node_radius;
  GdkRGBA color;

  sample.sx = x + 12;
  sample.sy = y;
  switch (key)
    {
    case KEY_SPIKING:
    case KEY_ACCESS:
    case KEY_NO_ACCESS:
      sample.role = key == KEY_SPIKING ? IMP_NODE_SPIKING
                    : key == KEY_ACCESS ? IMP_NODE_ACCESS : IMP_NODE_NO_ACCESS;
      self->node_radius = 5.0;
      draw_node (self, cr, &sample, fg);
      self->node_radius = radius;
      break;
    case KEY_EXCITATORY:
    case KEY_INHIBITORY:
      imp_plot_sign_color (key == KEY_EXCITATORY ? 'E' : 'I', &color);
      legend_line (cr, x, y, &color, 3, FALSE);
      break;
    case KEY_AP_AP:
      imp_plot_get_color (IMP_PLOT_COLOR_AP_AP, &color);
      legend_line (cr, x, y, &color, 1.5, TRUE);
      break;
    case KEY_WIDTH:
      imp_plot_set_source (cr, fg, 0.7);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + 24, y - 4);
      cairo_line_to (cr, x + 24, y + 4);
      cairo_close_path (cr);
      cairo_fill (cr);
      break;
    case N_KEYS:
    default:
      g_assert_not_reached ();
    }
}

static void
draw_legend (ImpMapView    *self,
             cairo_t       *cr,
             int            width,
             const GdkRGBA *fg)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.85);
  g_autofree char *scale_text = NULL;
  double row = 20.0;
  double text_w = 0;
  double w, x, y;
  guint n_rows = 0;
  gboolean show_width = imp_map_layout_get_max_amplitude (self->layout) > 0;
  GdkRGBA bg;

  scale_text = g_strdup_printf (_("thickest %.2f mV"),
                                imp_map_layout_get_max_amplitude
                                  (self->layout));
  for (LegendKey key = 0; key < N_KEYS; key++)
    {
      imp_plot_text_size (text, legend_text (key), &w, NULL);
      text_w = MAX (text_w, w);
    }
  imp_plot_text_size (text, scale_text, &w, NULL);
  text_w = MAX (text_w, w);

  self->legend_width = ceil (text_w + 52);
  n_rows = N_KEYS + 1;
  if (!(self->kinds & IMP_EDGE_AP_AP))
    n_rows--;
  if (!show_width)
    n_rows -= 2;
  if (width < self->legend_width + 16)
    return;

  x = width - self->legend_width - 8;
  panel_background (fg, &bg);
  imp_plot_rounded_rect (cr, x, 8, self->legend_width, n_rows * row + 12, 6);
  imp_plot_set_source (cr, &bg, 1.0);
  cairo_fill_preserve (cr);
  imp_plot_set_source (cr, fg, 0.15);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);

  y = 8 + 6 + row / 2;
  for (LegendKey key = 0; key < N_KEYS; key++)
    {
      if ((key == KEY_AP_AP && !(self->kinds & IMP_EDGE_AP_AP))
          || (key == KEY_WIDTH && !show_width))
        continue;
      draw_legend_symbol (self, cr, key, x + 10, y, fg);
      imp_plot_set_source (cr, fg, 0.9);
      imp_plot_text (cr, text, legend_text (key), x + 42, y, 0, 0.5);
      y += row;
    }
  if (show_width)
    {
      imp_plot_set_source (cr, fg, 0.65);
      imp_plot_text (cr, text, scale_text, x + 42, y, 0, 0.5);
    }
}

static void
draw_cb (GtkDrawingArea *area,
         cairo_t        *cr,
         int             width,
         int             height,
         gpointer        user_data)
{
  ImpMapView *self = IMP_MAP_VIEW (user_data);
  const ImpMapEdge *selected = NULL;
  int selected_edge = -1;
  int index;
  GdkRGBA fg;

  if (self->layout == NULL)
    return;

  imp_plot_get_foreground (GTK_WIDGET (area), &fg);
  ensure_projected (self);

  index = imp_session_get_selected (self->session);
  if (index >= 0)
    selected_edge = imp_map_layout_find_edge (self->layout, index,
                                              IMP_EDGE_AP_PSP
                                              | IMP_EDGE_EXTRA);
  if (index >= 0 && selected_edge < 0)
    selected_edge = imp_map_layout_find_edge (self->layout, index,
                                              IMP_EDGE_AP_AP);
  if (selected_edge >= 0)
    selected = imp_map_layout_get_edge (self->layout, selected_edge);

  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  draw_edges (self, cr, selected_edge);
  draw_nodes (self, cr, &fg, selected);
  draw_legend (self, cr, width, &fg);

  /* the canvas takes arrow keys and Tab: show when it has them */
  if (gtk_widget_has_visible_focus (GTK_WIDGET (area)))
    {
      imp_plot_rounded_rect (cr, 2, 2, width - 4, height - 4, 6);
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.5);
      cairo_set_line_width (cr, 2);
      cairo_stroke (cr);
    }
}

/* Selection */

static int
selected_edge_index (ImpMapView *self)
{
  int selected = imp_session_get_selected (self->session);
  guint n = imp_map_layout_get_n_edges (self->layout);

  if (selected < 0)
    return -1;
  if (self->key_edge >= 0 && (guint) self->key_edge < n
      && (int) imp_map_layout_get_edge (self->layout,
                                        self->key_edge)->candidate == selected)
    return self->key_edge;
  return imp_map_layout_find_edge (self->layout, selected,
                                   IMP_EDGE_AP_PSP | IMP_EDGE_AP_AP
                                   | IMP_EDGE_EXTRA);
}

static void
reveal_edge (ImpMapView *self,
             int         index)
{
  const ImpMapEdge *e;
  int width = gtk_widget_get_width (self->canvas);
  int height = gtk_widget_get_height (self->canvas);

  ensure_projected (self);
  e = imp_map_layout_get_edge (self->layout, index);
  if (e->mid_x >= PAD && e->mid_x <= width - PAD
      && e->mid_y >= PAD && e->mid_y <= height - PAD)
    return;

  self->fitted = FALSE;
  self->tx += width / 2.0 - e->mid_x;
  self->ty += height / 2.0 - e->mid_y;
}

static void
select_edge (ImpMapView *self,
             int         index)
{
  const ImpMapEdge *e = imp_map_layout_get_edge (self->layout, index);
  guint candidate = e->candidate;
  ImpEdgeKind kind = e->kind;

  reveal_edge (self, index);
  imp_session_set_selected (self->session, candidate);
  /* after the session has notified, which rebuilds the edges */
  self->key_edge = imp_map_layout_find_edge (self->layout, candidate, kind);
  gtk_widget_queue_draw (self->canvas);
}

/* Moves the selection by @step edges; FALSE when it would leave the list,
 * so that Tab can move the focus on. */
static gboolean
step_selection (ImpMapView *self,
                int         step,
                gboolean    wrap)
{
  int n = imp_map_layout_get_n_edges (self->layout);
  int current = selected_edge_index (self);
  int selected = imp_session_get_selected (self->session);
  int i = current;

  if (n == 0)
    return FALSE;

  if (i < 0)
    i = step > 0 ? 0 : n - 1;
  else
    do
      i += step;
    while (i >= 0 && i < n
           && (int) imp_map_layout_get_edge (self->layout, i)->candidate
              == selected);

  if (i < 0 || i >= n)
    {
      if (!wrap)
        return FALSE;
      i = step > 0 ? 0 : n - 1;
    }

  select_edge (self, i);
  return TRUE;
}

static void
select_node (ImpMapView *self,
             int         node)
{
  int n = imp_map_layout_get_n_edges (self->layout);
  int current = selected_edge_index (self);
  int start = current >= 0 ? current + 1 : 0;

  self->focus_node = node;

  /* repeated clicks walk through the node's connections */
  for (int k = 0; k < n; k++)
    {
      int i = (start + k) % n;
      const ImpMapEdge *e = imp_map_layout_get_edge (self->layout, i);

      if (e->kind != IMP_EDGE_EXTRA && edge_touches (e, node))
        {
          select_edge (self, i);
          return;
        }
    }

  imp_session_set_selected (self->session, -1);
  gtk_widget_queue_draw (self->canvas);
}

/* Input */

static void
zoom_at (ImpMapView *self,
         double      new_scale,
         double      x,
         double      y)
{
  double old;

  if (self->layout == NULL)
    return;

  ensure_projected (self);
  old = self->scale;
  new_scale = CLAMP (new_scale, MIN_SCALE, MAX_SCALE);
  self->fitted = FALSE;
  self->tx = x - (x - self->tx) * new_scale / old;
  self->ty = y - (y - self->ty) * new_scale / old;
  self->scale = new_scale;
  gtk_widget_queue_draw (self->canvas);
}

static void
zoom_centre (ImpMapView *self,
             double      factor)
{
  zoom_at (self, self->scale * factor,
           gtk_widget_get_width (self->canvas) / 2.0,
           gtk_widget_get_height (self->canvas) / 2.0);
}

static void
zoom_in_clicked_cb (ImpMapView *self)
{
  zoom_centre (self, ZOOM_STEP);
}

static void
zoom_out_clicked_cb (ImpMapView *self)
{
  zoom_centre (self, 1.0 / ZOOM_STEP);
}

static void
zoom_fit_clicked_cb (ImpMapView *self)
{
  self->fitted = TRUE;
  gtk_widget_queue_draw (self->canvas);
}

static void
mode_toggled_cb (ImpMapView *self)
{
  ImpEdgeKind kinds = IMP_EDGE_AP_PSP;

  if (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->mode_ap)))
    kinds = IMP_EDGE_AP_AP;
  else if (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->mode_both)))
    kinds = IMP_EDGE_AP_PSP | IMP_EDGE_AP_AP;

  if (kinds == self->kinds)
    return;
  self->kinds = kinds;
  rebuild_edges (self);
  gtk_widget_queue_draw (self->canvas);
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           ImpMapView               *self)
{
  zoom_at (self, self->scale * pow (1.15, -dy), self->pointer_x,
           self->pointer_y);
  return TRUE;
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           ImpMapView               *self)
{
  int node = -1;
  int edge = -1;

  self->pointer_x = x;
  self->pointer_y = y;
  if (self->layout == NULL)
    return;

  ensure_projected (self);
  node = imp_map_layout_node_at (self->layout, x, y, self->node_radius + 2);
  if (node < 0)
    edge = imp_map_layout_edge_at (self->layout, x, y, EDGE_SLOP);

  if (node != self->hover_node || edge != self->hover_edge)
    {
      self->hover_node = node;
      self->hover_edge = edge;
      gtk_widget_queue_draw (self->canvas);
    }
}

static void
leave_cb (GtkEventControllerMotion *controller,
          ImpMapView               *self)
{
  if (self->hover_node < 0 && self->hover_edge < 0)
    return;

  self->hover_node = self->hover_edge = -1;
  gtk_widget_queue_draw (self->canvas);
}

/* The selected connection in the Traces view: its two channels, at an AP
 * that evoked a PSP. */
static void
show_in_traces_clicked_cb (ImpMapView *self)
{
  imp_plot_show_in_traces (GTK_WIDGET (self), self->session,
                           imp_session_get_selected (self->session));
}

static void
pressed_cb (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            ImpMapView      *self)
{
  self->press_x = x;
  self->press_y = y;
}

static void
released_cb (GtkGestureClick *gesture,
             int              n_press,
             double           x,
             double           y,
             ImpMapView      *self)
{
  int node;
  int edge;

  gtk_widget_grab_focus (self->canvas);
  if (self->layout == NULL)
    return;

  /* a press that moved was a pan: the map followed the pointer, so the
   * node under it now is the one pressed, but nothing was chosen */
  if (hypot (x - self->press_x, y - self->press_y) > CLICK_SLOP)
    return;

  ensure_projected (self);
  node = imp_map_layout_node_at (self->layout, x, y, self->node_radius + 2);
  if (node >= 0)
    {
      select_node (self, node);
      return;
    }

  edge = imp_map_layout_edge_at (self->layout, x, y, EDGE_SLOP);
  self->focus_node = -1;
  if (edge >= 0)
    select_edge (self, edge);
  gtk_widget_queue_draw (self->canvas);

  /* A double click on an edge shows the pair in the Traces view. */
  if (edge >= 0 && n_press == 2)
    show_in_traces_clicked_cb (self);
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               ImpMapView     *self)
{
  ensure_projected (self);
  self->drag_tx = self->tx;
  self->drag_ty = self->ty;
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                ImpMapView     *self)
{
  if (dx == 0 && dy == 0)
    return;

  self->fitted = FALSE;
  self->tx = self->drag_tx + dx;
  self->ty = self->drag_ty + dy;
  gtk_widget_queue_draw (self->canvas);
}

static void
pinch_begin_cb (GtkGesture       *gesture,
                GdkEventSequence *sequence,
                ImpMapView       *self)
{
  self->pinch_scale = self->scale;
}

static void
pinch_changed_cb (GtkGestureZoom *gesture,
                  double          factor,
                  ImpMapView     *self)
{
  double x, y;

  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    return;
  zoom_at (self, self->pinch_scale * factor, x, y);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                ImpMapView            *self)
{
  if (self->layout == NULL)
    return FALSE;

  switch (keyval)
    {
    case GDK_KEY_Tab:
    case GDK_KEY_KP_Tab:
      if (state & (GDK_CONTROL_MASK | GDK_ALT_MASK))
        return FALSE;
      return step_selection (self, (state & GDK_SHIFT_MASK) ? -1 : 1, FALSE);
    case GDK_KEY_ISO_Left_Tab:
      return step_selection (self, -1, FALSE);
    case GDK_KEY_Right:
    case GDK_KEY_Down:
    case GDK_KEY_KP_Right:
    case GDK_KEY_KP_Down:
      return step_selection (self, 1, TRUE);
    case GDK_KEY_Left:
    case GDK_KEY_Up:
    case GDK_KEY_KP_Left:
    case GDK_KEY_KP_Up:
      return step_selection (self, -1, TRUE);
    case GDK_KEY_plus:
    case GDK_KEY_equal:
    case GDK_KEY_KP_Add:
      zoom_centre (self, ZOOM_STEP);
      return TRUE;
    case GDK_KEY_minus:
    case GDK_KEY_KP_Subtract:
      zoom_centre (self, 1.0 / ZOOM_STEP);
      return TRUE;
    case GDK_KEY_0:
    case GDK_KEY_KP_0:
      zoom_fit_clicked_cb (self);
      return TRUE;
    case GDK_KEY_Return:
    case GDK_KEY_KP_Enter:
      if (imp_session_get_selected (self->session) < 0)
        return FALSE;
      show_in_traces_clicked_cb (self);
      return TRUE;
    case GDK_KEY_Escape:
      if (self->focus_node < 0)
        return FALSE;
      self->focus_node = -1;
      gtk_widget_queue_draw (self->canvas);
      return TRUE;
    default:
      return FALSE;
    }
}

/* Tooltips */

static char *
edge_tooltip (ImpMapView       *self,
              const ImpMapEdge *e)
{
  const ImpCandidate *c = get_candidate (self, e->candidate);
  g_autofree char *pre = NULL;
  g_autofree char *post = NULL;
  g_autofree char *p = NULL;
  g_autofree char *ap_ap_p = NULL;
  g_autofree char *latency = NULL;
  const char *sign;
  const char *kind = "";
  const char *verdict;
  double alpha = get_result (self)->params.alpha;

  if (c == NULL)
    return NULL;

  pre = g_markup_escape_text (channel_label (self, c->pre), -1);
  post = g_markup_escape_text (channel_label (self, c->post), -1);
  sign = c->sign == 'I' ? _("Inhibitory") : _("Excitatory");
  if (e->kind == IMP_EDGE_AP_AP)
    kind = _(" (AP→AP)");
  else if (e->kind == IMP_EDGE_EXTRA)
    kind = _(" (not significant)");
  verdict = c->ap_ap_significant ? _("significant") : _("not significant");
  p = imp_plot_format_p_relation (c->p_value, alpha);
  ap_ap_p = imp_plot_format_p_relation (c->ap_ap_p_value, alpha);
  latency = imp_plot_has_latency (c)
            ? g_strdup_printf (_("%.2f ms"), c->latency_ms)
            : g_strdup (_("— (no estimate)"));

  return g_strdup_printf (_("<b>%s → %s</b>%s\n"
                            "%s, %+.3f mV\n"
                            "Latency %s, p %s\n"
                            "AP→AP: p %s, %s\n"
                            "%u presynaptic APs"),
                          pre, post, kind, sign, c->amplitude_mv,
                          latency, p, ap_ap_p, verdict, c->n_pre_aps);
}

static char *
node_tooltip (ImpMapView       *self,
              const ImpMapNode *node)
{
  g_autofree char *label = NULL;
  const char *role;

  label = g_markup_escape_text (channel_label (self, node->channel), -1);
  switch (node->role)
    {
    case IMP_NODE_SPIKING:
      role = _("Intracellular access, firing");
      break;
    case IMP_NODE_ACCESS:
      role = _("Intracellular access, no APs");
      break;
    case IMP_NODE_NO_ACCESS:
    default:
      role = _("No intracellular access");
      break;
    }

  return g_strdup_printf (_("<b>%s</b>\n%s\n%u APs, %u outgoing and %u "
                            "incoming connections"),
                          label, role, node->n_aps, node->n_out, node->n_in);
}

static gboolean
query_tooltip_cb (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard,
                  GtkTooltip *tooltip,
                  ImpMapView *self)
{
  g_autofree char *markup = NULL;
  int node = -1;
  int edge = -1;

  if (self->layout == NULL)
    return FALSE;

  ensure_projected (self);
  if (keyboard)
    edge = selected_edge_index (self);
  else
    {
      node = imp_map_layout_node_at (self->layout, x, y,
                                     self->node_radius + 2);
      if (node < 0)
        edge = imp_map_layout_edge_at (self->layout, x, y, EDGE_SLOP);
    }

  if (node >= 0)
    markup = node_tooltip (self, imp_map_layout_get_node (self->layout, node));
  else if (edge >= 0)
    markup = edge_tooltip (self, imp_map_layout_get_edge (self->layout, edge));

  if (markup == NULL)
    return FALSE;
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

/* Session */

static void
result_changed_cb (ImpMapView *self)
{
  rebuild (self);
}

/* Only the status page can change while there is no result. */
static void
state_changed_cb (ImpMapView *self)
{
  if (get_result (self) == NULL)
    show_status (self);
}

static void
selected_changed_cb (ImpMapView *self)
{
  gtk_widget_set_sensitive (self->show_button,
                            imp_session_get_selected (self->session) >= 0);
  rebuild_edges (self);
  gtk_widget_queue_draw (self->canvas);
}

/* Object */

static void
imp_map_view_constructed (GObject *object)
{
  ImpMapView *self = IMP_MAP_VIEW (object);

  G_OBJECT_CLASS (imp_map_view_parent_class)->constructed (object);

  g_return_if_fail (IMP_IS_SESSION (self->session));

  g_signal_connect_object (self->session, "notify::recording",
                           G_CALLBACK (result_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::result",
                           G_CALLBACK (result_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::selected",
                           G_CALLBACK (selected_changed_cb), self,
                           G_CONNECT_SWAPPED);
  imp_plot_watch_analysing (self->session, G_CALLBACK (state_changed_cb),
                            self);
  rebuild (self);
  selected_changed_cb (self);
}

static void
imp_map_view_dispose (GObject *object)
{
  ImpMapView *self = IMP_MAP_VIEW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), IMP_TYPE_MAP_VIEW);
  g_clear_pointer (&self->layout, imp_map_layout_free);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (imp_map_view_parent_class)->dispose (object);
}

static void
imp_map_view_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  ImpMapView *self = IMP_MAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_map_view_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  ImpMapView *self = IMP_MAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_map_view_class_init (ImpMapViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = imp_map_view_constructed;
  object_class->dispose = imp_map_view_dispose;
  object_class->get_property = imp_map_view_get_property;
  object_class->set_property = imp_map_view_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         IMP_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                         | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/imprint/Imprint/"
                                               "imp-map-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ImpMapView, stack);
  gtk_widget_class_bind_template_child (widget_class, ImpMapView,
                                        status_page);
  gtk_widget_class_bind_template_child (widget_class, ImpMapView, canvas);
  gtk_widget_class_bind_template_child (widget_class, ImpMapView, summary);
  gtk_widget_class_bind_template_child (widget_class, ImpMapView, mode_psp);
  gtk_widget_class_bind_template_child (widget_class, ImpMapView, mode_ap);
  gtk_widget_class_bind_template_child (widget_class, ImpMapView, mode_both);
  gtk_widget_class_bind_template_callback (widget_class, mode_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, zoom_in_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, zoom_out_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, zoom_fit_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           show_in_traces_clicked_cb);
  gtk_widget_class_bind_template_child (widget_class, ImpMapView,
                                        show_button);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "impmapview");
}

static void
imp_map_view_init (ImpMapView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->kinds = IMP_EDGE_AP_PSP;
  self->scale = 1.0;
  self->fitted = TRUE;
  self->node_radius = 6.0;
  self->legend_width = 190.0;
  self->hover_edge = self->hover_node = self->focus_node = -1;
  self->key_edge = -1;

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->canvas), draw_cb,
                                  self, NULL);
  g_signal_connect (self->canvas, "query-tooltip",
                    G_CALLBACK (query_tooltip_cb), self);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_scroll_new
    (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (controller, "enter",
                            G_CALLBACK (gtk_widget_queue_draw), self->canvas);
  g_signal_connect_swapped (controller, "leave",
                            G_CALLBACK (gtk_widget_queue_draw), self->canvas);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed",
                    G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture),
                                 GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (pressed_cb), self);
  g_signal_connect (gesture, "released", G_CALLBACK (released_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_drag_new ();
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update",
                    G_CALLBACK (drag_update_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (pinch_begin_cb), self);
  g_signal_connect (gesture, "scale-changed",
                    G_CALLBACK (pinch_changed_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));
}

/**
 * imp_map_view_new:
 * @session: the window's session
 *
 * Returns: (transfer floating): the connectivity map view
 */
GtkWidget *
imp_map_view_new (ImpSession *session)
{
  g_return_val_if_fail (IMP_IS_SESSION (session), NULL);

  return g_object_new (IMP_TYPE_MAP_VIEW, "session", session, NULL);
}

/* Internal, for tests */

GtkWidget *
_imp_map_view_get_canvas (ImpMapView *self)
{
  g_return_val_if_fail (IMP_IS_MAP_VIEW (self), NULL);

  return self->canvas;
}

int
_imp_map_view_candidate_at (ImpMapView *self,
                            double      x,
                            double      y)
{
  int edge;

  g_return_val_if_fail (IMP_IS_MAP_VIEW (self), -1);

  if (self->layout == NULL)
    return -1;
  ensure_projected (self);
  edge = imp_map_layout_edge_at (self->layout, x, y, EDGE_SLOP);
  if (edge < 0)
    return -1;
  return imp_map_layout_get_edge (self->layout, edge)->candidate;
}

gboolean
_imp_map_view_get_edge_midpoint (ImpMapView *self,
                                 guint       candidate,
                                 double     *x,
                                 double     *y)
{
  const ImpMapEdge *e;
  int edge;

  g_return_val_if_fail (IMP_IS_MAP_VIEW (self), FALSE);

  if (self->layout == NULL)
    return FALSE;
  ensure_projected (self);
  edge = imp_map_layout_find_edge (self->layout, candidate, IMP_EDGE_AP_PSP);
  if (edge < 0)
    return FALSE;
  e = imp_map_layout_get_edge (self->layout, edge);
  *x = e->mid_x;
  *y = e->mid_y;
  return TRUE;
}

void
_imp_map_view_set_show_ap_ap (ImpMapView *self,
                              gboolean    beside)
{
  g_return_if_fail (IMP_IS_MAP_VIEW (self));

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (beside ? self->mode_both
                                                   : self->mode_psp),
                                TRUE);
}

gboolean
_imp_map_view_has_positions (ImpMapView *self)
{
  g_return_val_if_fail (IMP_IS_MAP_VIEW (self), FALSE);

  return self->layout != NULL
         && imp_map_layout_has_positions (self->layout);
}

gboolean
_imp_map_view_step (ImpMapView *self,
                    int         step,
                    gboolean    wrap)
{
  g_return_val_if_fail (IMP_IS_MAP_VIEW (self), FALSE);

  if (self->layout == NULL)
    return FALSE;
  return step_selection (self, step, wrap);
}

void
_imp_map_view_click (ImpMapView *self,
                     double      x0,
                     double      y0,
                     double      x1,
                     double      y1)
{
  g_return_if_fail (IMP_IS_MAP_VIEW (self));

  pressed_cb (NULL, 1, x0, y0, self);
  released_cb (NULL, 1, x1, y1, self);
}

void
_imp_map_view_zoom (ImpMapView *self,
                    double      factor)
{
  g_return_if_fail (IMP_IS_MAP_VIEW (self));

  zoom_centre (self, factor);
}

guint
_imp_map_view_count_labels (ImpMapView *self,
                            double     *node_radius)
{
  const ImpMapEdge *selected = NULL;
  gboolean all;
  guint n = 0;
  int edge;

  g_return_val_if_fail (IMP_IS_MAP_VIEW (self), 0);

  if (self->layout == NULL)
    return 0;
  ensure_projected (self);
  edge = selected_edge_index (self);
  if (edge >= 0)
    selected = imp_map_layout_get_edge (self->layout, edge);
  all = labels_fit (self, imp_map_layout_get_spacing (self->layout)
                          * self->scale);
  for (guint i = 0; i < imp_map_layout_get_n_nodes (self->layout); i++)
    n += imp_map_layout_get_node (self->layout, i)->label != NULL
         && label_wanted (self, i, all, selected);
  if (node_radius != NULL)
    *node_radius = self->node_radius;
  return n;
}

gboolean
_imp_map_view_get_node_position (ImpMapView *self,
                                 guint       channel,
                                 double     *x,
                                 double     *y)
{
  const ImpMapNode *node;

  g_return_val_if_fail (IMP_IS_MAP_VIEW (self), FALSE);

  if (self->layout == NULL
      || channel >= imp_map_layout_get_n_nodes (self->layout))
    return FALSE;
  ensure_projected (self);
  node = imp_map_layout_get_node (self->layout, channel);
  *x = node->sx;
  *y = node->sy;
  return TRUE;
}

gboolean
_imp_map_view_get_status (ImpMapView  *self,
                          const char **title,
                          const char **description)
{
  g_return_val_if_fail (IMP_IS_MAP_VIEW (self), FALSE);

  *title = adw_status_page_get_title (ADW_STATUS_PAGE (self->status_page));
  *description = adw_status_page_get_description
                   (ADW_STATUS_PAGE (self->status_page));
  return g_strcmp0 (gtk_stack_get_visible_child_name
                      (GTK_STACK (self->stack)), "empty") == 0;
}

/* imp-pairs-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <adwaita.h>
#include <glib/gi18n.h>

#include "imp-average-plot.h"
#include "imp-candidate-item.h"
#include "imp-pairs-view-private.h"
#include "imp-plot.h"

typedef enum
{
  COLUMN_PRE,
  COLUMN_POST,
  COLUMN_SIGN,
  COLUMN_AMPLITUDE,
  COLUMN_LATENCY,
  COLUMN_P_VALUE,
  COLUMN_SIGNIFICANT,
  COLUMN_N_APS,
  COLUMN_AP_AP_P_VALUE,
  N_COLUMNS
} Column;

/* The label columns share the spare width; the others are as wide as their
 * title or their widest value (@sample, in markup), whichever is wider, so
 * that no width depends on the rows shown. */
static const struct
{
  const char *title;
  const char *property;
  gboolean    numeric;
  const char *sample;
} column_info[N_COLUMNS] = {
  [COLUMN_PRE]           = { N_("Pre"), "pre-label", FALSE, NULL },
  [COLUMN_POST]          = { N_("Post"), "post-label", FALSE, NULL },
  [COLUMN_SIGN]          = { N_("Sign"), "sign", FALSE, "● E" },
  [COLUMN_AMPLITUDE]     = { N_("Amplitude\n(mV)"), "amplitude", TRUE,
                             "+00.000" },
  [COLUMN_LATENCY]       = { N_("Latency\n(ms)"), "latency", TRUE, "00.00" },
  [COLUMN_P_VALUE]       = { N_("p"), "p-value", TRUE, "0.00e-000" },
  [COLUMN_N_APS]         = { N_("APs"), "n-aps", TRUE, "00000" },
  [COLUMN_AP_AP_P_VALUE] = { N_("AP→AP p"), "ap-ap-p-value", TRUE,
                             "<b>0.00e-000</b> ✓" },
  [COLUMN_SIGNIFICANT]   = { N_("Verdict"), "verdict", TRUE,
                             "Common input" },
};

/* Around a cell's text: its padding and border. Around a title's: the
 * same, the sort arrow and the space before it. Titles are set in 9 pt
 * bold. (All as libadwaita's style sheet has them.) */
#define CELL_EXTRA     14
#define TITLE_EXTRA    36
#define TITLE_POINTS   9

struct _ImpPairsView
{
  GtkWidget           parent_instance;

  ImpSession         *session;
  GListStore         *store;
  GtkFilter          *filter;
  GtkSortListModel   *sorted;
  GtkSingleSelection *selection;
  gboolean            syncing;

  GtkWidget          *stack;
  GtkWidget          *status_page;
  GtkWidget          *search;
  GtkWidget          *significant_only;
  GtkWidget          *column_view;
  GtkWidget          *count;
  GtkWidget          *detail_title;
  GtkWidget          *detail_facts;
  GtkWidget          *show_button;
  GtkWidget          *average;
};

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ImpPairsView, imp_pairs_view, GTK_TYPE_WIDGET)

static const char *
channel_label (ImpAnalysisResult *result,
               guint              channel)
{
  if (result->labels != NULL && channel < result->n_channels
      && result->labels[channel] != NULL)
    return result->labels[channel];
  return "?";
}

/* Cells */

static void
setup_cell_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               gpointer                  user_data)
{
  Column column = GPOINTER_TO_INT (user_data);
  GtkWidget *label = gtk_label_new (NULL);

  if (column_info[column].numeric)
    {
      gtk_label_set_xalign (GTK_LABEL (label), 1.0);
      gtk_widget_add_css_class (label, "numeric");
    }
  else
    gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_list_item_set_child (list_item, label);
}

static char *
cell_text (const ImpCandidate *c,
           ImpCandidateItem   *item,
           double              alpha,
           Column              column)
{
  g_autofree char *p = NULL;
  GdkRGBA color;

  switch (column)
    {
    case COLUMN_PRE:
      return g_markup_escape_text (imp_candidate_item_get_pre_label (item), -1);
    case COLUMN_POST:
      return g_markup_escape_text (imp_candidate_item_get_post_label (item),
                                   -1);
    case COLUMN_SIGN:
      imp_plot_sign_color (c->sign, &color);
      return g_strdup_printf ("<span foreground=\"#%02x%02x%02x\">●</span>"
                              " %c",
                              (int) (color.red * 255),
                              (int) (color.green * 255),
                              (int) (color.blue * 255),
                              c->sign == 'I' ? 'I' : 'E');
    case COLUMN_AMPLITUDE:
      return g_strdup_printf ("%+.3f", c->amplitude_mv);
    case COLUMN_LATENCY:
      return imp_plot_format_latency (c);
    case COLUMN_P_VALUE:
      return imp_plot_format_p_markup (c->p_value, alpha);
    case COLUMN_N_APS:
      return g_strdup_printf ("%u", c->n_pre_aps);
    case COLUMN_AP_AP_P_VALUE:
      p = imp_plot_format_p_markup (c->ap_ap_p_value, alpha);
      if (c->ap_ap_significant)
        return g_strdup_printf ("<b>%s</b> ✓", p);
      return g_steal_pointer (&p);
    case COLUMN_SIGNIFICANT:
      /* why a pair is no synapse, as the detail pane says at length */
      switch (imp_candidate_verdict (c))
        {
        case IMP_VERDICT_SYNAPSE:
          return g_strdup (_("<b>Synapse</b>"));
        case IMP_VERDICT_ARTEFACT:
          return g_strdup (_("Artefact"));
        case IMP_VERDICT_COMMON_INPUT:
          return g_strdup (_("Common input"));
        case IMP_VERDICT_CHAIN:
          return g_strdup (_("Chain"));
        case IMP_VERDICT_EXPLAINED:
          return g_strdup (_("Explained"));
        case IMP_VERDICT_NOT_SIGNIFICANT:
        default:
          return g_strdup (_("n.s."));
        }
    case N_COLUMNS:
    default:
      g_assert_not_reached ();
    }
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  user_data)
{
  Column column = GPOINTER_TO_INT (user_data);
  ImpCandidateItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);
  g_autofree char *markup = NULL;

  markup = cell_text (imp_candidate_item_get_candidate (item), item,
                      imp_candidate_item_get_alpha (item), column);
  gtk_label_set_markup (GTK_LABEL (label), markup);
}

static GtkSorter *
column_sorter (Column column)
{
  GtkExpression *expression;

  expression = gtk_property_expression_new (IMP_TYPE_CANDIDATE_ITEM, NULL,
                                            column_info[column].property);
  if (column_info[column].numeric)
    return GTK_SORTER (gtk_numeric_sorter_new (expression));
  return GTK_SORTER (gtk_string_sorter_new (expression));
}

static int
markup_width (GtkWidget  *widget,
              const char *markup)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget,
                                                                  NULL);
  int width;

  pango_layout_set_markup (layout, markup, -1);
  pango_layout_get_pixel_size (layout, &width, NULL);
  return width;
}

static int
column_width (ImpPairsView *self,
              Column        column)
{
  g_autofree char *title = g_markup_escape_text (_(column_info[column].title),
                                                 -1);
  g_autofree char *markup = g_strdup_printf ("<span size=\"%dpt\" "
                                             "weight=\"bold\">%s</span>",
                                             TITLE_POINTS, title);

  return MAX (markup_width (self->column_view, markup) + TITLE_EXTRA,
              markup_width (self->column_view, column_info[column].sample)
              + CELL_EXTRA);
}

static void
add_columns (ImpPairsView *self)
{
  for (Column column = 0; column < N_COLUMNS; column++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      g_autoptr(GtkColumnViewColumn) col = NULL;
      g_autoptr(GtkSorter) sorter = column_sorter (column);

      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb),
                        GINT_TO_POINTER (column));
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb),
                        GINT_TO_POINTER (column));
      col = gtk_column_view_column_new (_(column_info[column].title),
                                        factory);
      gtk_column_view_column_set_sorter (col, sorter);
      gtk_column_view_column_set_resizable (col, TRUE);
      if (column_info[column].sample != NULL)
        gtk_column_view_column_set_fixed_width (col,
                                                column_width (self, column));
      else
        gtk_column_view_column_set_expand (col, TRUE);
      gtk_column_view_append_column (GTK_COLUMN_VIEW (self->column_view), col);
    }
}

/* Filtering */

static gboolean
label_matches (const char *label,
               const char *needle)
{
  g_autofree char *folded = g_utf8_casefold (label, -1);

  return strstr (folded, needle) != NULL;
}

static gboolean
filter_func (gpointer object,
             gpointer user_data)
{
  ImpPairsView *self = IMP_PAIRS_VIEW (user_data);
  ImpCandidateItem *item = IMP_CANDIDATE_ITEM (object);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search));
  g_autofree char *needle = NULL;

  if (gtk_switch_get_active (GTK_SWITCH (self->significant_only))
      && !imp_candidate_item_get_candidate (item)->significant)
    return FALSE;
  if (text == NULL || text[0] == '\0')
    return TRUE;

  needle = g_utf8_casefold (text, -1);
  return label_matches (imp_candidate_item_get_pre_label (item), needle)
         || label_matches (imp_candidate_item_get_post_label (item), needle);
}

static void
update_count (ImpPairsView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);
  g_autofree char *text = NULL;
  guint shown;
  guint total;

  if (result == NULL)
    return;

  shown = g_list_model_get_n_items (G_LIST_MODEL (self->sorted));
  total = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  text = g_strdup_printf (_("%u of %u pairs shown · %u significant"),
                          shown, total, result->n_connections);
  gtk_label_set_text (GTK_LABEL (self->count), text);
}

/* Selection */

static GtkWidget *
find_list_view (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_LIST_VIEW (child))
        return child;
      found = find_list_view (child);
      if (found != NULL)
        return found;
    }

  return NULL;
}

static guint
find_position (ImpPairsView *self,
               int           index)
{
  GListModel *model = G_LIST_MODEL (self->sorted);
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; index >= 0 && i < n; i++)
    {
      g_autoptr(ImpCandidateItem) item = g_list_model_get_item (model, i);

      if ((int) imp_candidate_item_get_index (item) == index)
        return i;
    }

  return GTK_INVALID_LIST_POSITION;
}

static void
sync_list_selection (ImpPairsView *self)
{
  int index = imp_session_get_selected (self->session);
  guint position = find_position (self, index);
  GtkWidget *list_view;

  self->syncing = TRUE;
  if (position != gtk_single_selection_get_selected (self->selection))
    gtk_single_selection_set_selected (self->selection, position);
  self->syncing = FALSE;

  /* GtkColumnView has no scroll_to before GTK 4.12; its list does */
  list_view = find_list_view (self->column_view);
  if (position != GTK_INVALID_LIST_POSITION && list_view != NULL)
    gtk_widget_activate_action (list_view, "list.scroll-to-item", "u",
                                position);
}

static void
update_detail (ImpPairsView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);
  ImpCandidate *c = imp_session_get_selected_candidate (self->session);
  g_autofree char *title = NULL;
  g_autofree char *facts = NULL;
  g_autofree char *reason = NULL;
  const char *status;
  g_autofree char *p = NULL;
  g_autofree char *ap_ap_p = NULL;
  g_autofree char *latency = NULL;
  char alpha[G_ASCII_DTOSTR_BUF_SIZE];
  GdkRGBA color;

  imp_average_plot_set_candidate (IMP_AVERAGE_PLOT (self->average), result,
                                  c != NULL
                                  ? imp_session_get_selected (self->session)
                                  : -1);
  gtk_widget_set_sensitive (self->show_button, c != NULL && result != NULL);
  if (c == NULL || result == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->detail_title),
                          _("No pair selected"));
      gtk_label_set_text (GTK_LABEL (self->detail_facts), "");
      return;
    }

  title = g_strdup_printf ("%s → %s", channel_label (result, c->pre),
                           channel_label (result, c->post));
  gtk_label_set_text (GTK_LABEL (self->detail_title), title);

  imp_plot_sign_color (c->artefact ? '?' : c->sign, &color);
  p = imp_plot_format_p_relation (c->p_value, result->params.alpha);
  g_ascii_formatd (alpha, sizeof alpha, "%g", result->params.alpha);
  ap_ap_p = imp_plot_format_p_relation (c->ap_ap_p_value,
                                        result->params.alpha);
  /* no-break spaces keep each value with its name and unit */
  if (imp_plot_has_latency (c))
    {
      GString *text = g_string_new (NULL);

      g_string_append_printf (text, _("latency %.2f ms"), c->latency_ms);
      if (c->rise_ms > 0)
        g_string_append_printf (text, _(" · rise %.2f ms"), c->rise_ms);
      if (c->decay_ms > 0)
        g_string_append_printf (text, _(" · decay %.1f ms"), c->decay_ms);
      if (c->kinetics_isolated && (c->rise_ms > 0 || c->decay_ms > 0))
        g_string_append (text, _(" (isolated trials)"));
      latency = g_string_free (text, FALSE);
    }
  else
    latency = g_strdup (_("no latency estimate"));
  /* Why a strong response is no synapse, as the analysis judged it. */
  if (c->transient)
    reason = g_strdup (_(": a transient at zero latency (stimulus or "
                         "electrical coupling), so this is no synapse"));
  else if (c->artefact)
    reason = g_strdup (_(": the postsynaptic signal moves before the AP, so "
                         "this is no synapse"));
  else if (c->common_input)
    reason = g_strdup (_(": the postsynaptic cell already moves this way "
                         "before the AP (common input)"));
  else if (c->polysynaptic)
    reason = g_strdup_printf (_(": its PSPs start at no fixed latency after "
                                "the AP, as through a chain of cells (onset "
                                "spread z = %.1f, at least %.1f)"),
                              c->spread_z, result->params.spread_z);
  else if (c->n_trials == 0)
    reason = g_strdup (_(": no trial could be measured (every presynaptic AP "
                         "falls near a postsynaptic one)"));
  else if (c->explained)
    reason = g_strdup_printf (_(": another input of the postsynaptic cell "
                                "explains it (mostly %s): with their PSPs "
                                "regressed out of each trial, %+.3f mV is "
                                "left (z = %.1f)"),
                              c->explained_by < result->n_channels
                              ? channel_label (result, c->explained_by)
                              : "?", c->direct_mv, c->direct_z);
  else
    reason = g_strdup ("");
  /* a response below alpha that a check took back is not "not
   * significant": say what happened */
  if (c->significant)
    status = _("significant");
  else if (reason[0] != '\0' && c->p_value <= result->params.alpha)
    status = _("withdrawn");
  else
    status = _("not significant");
  facts = g_strdup_printf (_("<span foreground=\"#%02x%02x%02x\"><b>%s</b>"
                             "</span> · %s%s\n"
                             "Amplitude %+.3f mV · %s\n"
                             "p %s (corrected) · %u presynaptic APs\n"
                             "AP→AP: p %s, %s\n"
                             "<small>Significant at p ≤ %s, corrected for "
                             "all pairs tested (Benjamini–Hochberg)</small>"),
                           (int) (color.red * 255), (int) (color.green * 255),
                           (int) (color.blue * 255),
                           c->artefact ? (c->sign == 'I'
                                          ? _("Artefact, looks inhibitory")
                                          : _("Artefact, looks excitatory"))
                           : c->sign == 'I' ? _("Inhibitory")
                                            : _("Excitatory"),
                           status, reason,
                           c->amplitude_mv, latency, p, c->n_pre_aps,
                           ap_ap_p,
                           c->ap_ap_significant ? _("significant")
                                                : _("not significant"),
                           alpha);
  gtk_label_set_markup (GTK_LABEL (self->detail_facts), facts);
}

static void
selection_changed_cb (ImpPairsView *self)
{
  ImpCandidateItem *item;

  if (self->syncing)
    return;

  /* an item filtered away is not a choice of "nothing": keep the session's */
  item = gtk_single_selection_get_selected_item (self->selection);
  if (item == NULL)
    return;
  imp_session_set_selected (self->session,
                            imp_candidate_item_get_index (item));
}

/* Shows the selected pair in the Traces view. */
static void
show_clicked_cb (ImpPairsView *self)
{
  imp_plot_show_in_traces (GTK_WIDGET (self), self->session,
                           imp_session_get_selected (self->session));
}

/* Enter or a double click on a row shows its pair in the Traces view. */
static void
row_activated_cb (ImpPairsView *self,
                  guint         position)
{
  g_autoptr(ImpCandidateItem) item = NULL;

  item = g_list_model_get_item (G_LIST_MODEL (self->sorted), position);
  if (item == NULL)
    return;

  imp_plot_show_in_traces (GTK_WIDGET (self), self->session,
                           imp_candidate_item_get_index (item));
}

/* Session */

/* Why a result has no candidates: what the analysis had to work with. */
static char *
describe_no_candidates (ImpAnalysisResult *result)
{
  g_autofree char *p_max = NULL;
  g_autofree char *outcome = NULL;
  g_autofree char *text = NULL;
  guint n_access = 0;
  guint n_firing = 0;

  if (result->n_channels < 2)
    return g_strdup_printf (_("The recording has %u channel; a pair needs "
                              "two cells."),
                            result->n_channels);

  for (guint i = 0; i < result->n_channels; i++)
    {
      if (result->access != NULL
          && result->access[i] == IMP_ACCESS_INTRACELLULAR)
        n_access++;
      if (result->aps != NULL && result->aps[i] != NULL
          && result->aps[i]->len >= MAX (result->params.min_pre_aps, 1))
        n_firing++;
    }
  p_max = g_strdup_printf ("%g", result->params.candidate_p_max);
  /* with no room for candidates that are not significant, some may have
   * reached p_max without being kept */
  if (result->params.max_candidates == 0)
    outcome = g_strdup (_("none is significant, and those that are not "
                          "were not kept (the analysis kept at most 0 of "
                          "them)"));
  else
    outcome = g_strdup_printf (_("none reached p < %s"), p_max);

  text = g_strdup_printf (_("Channels: %u, with intracellular access: %u, "
                            "firing at least %u APs (needed to be tested as "
                            "presynaptic): %u. Pairs tested: "
                            "%" G_GUINT64_FORMAT "; %s."),
                          result->n_channels, n_access,
                          MAX (result->params.min_pre_aps, 1), n_firing,
                          result->n_pairs_tested, outcome);
  /* channels the analysis left out, and why */
  if (result->warning != NULL && result->warning[0] != '\0')
    return g_strconcat (text, "\n\n", result->warning, NULL);
  return g_steal_pointer (&text);
}

/* Shows the status page instead of the list when there is nothing to
 * list, saying why. */
static gboolean
show_status (ImpPairsView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);
  AdwStatusPage *page = ADW_STATUS_PAGE (self->status_page);
  g_autofree char *description = NULL;
  g_autofree char *escaped = NULL;
  const char *title = _("No Candidate Pairs");

  switch (imp_plot_get_view_state (self->session))
    {
    case IMP_VIEW_STATE_NO_RECORDING:
      description = g_strdup (_("Open a recording and run the analysis to "
                                "list every tested pair of cells."));
      break;
    case IMP_VIEW_STATE_ANALYSING:
      title = _("Analysing…");
      description = g_strdup (_("The candidate pairs are listed when the "
                                "analysis has finished."));
      break;
    case IMP_VIEW_STATE_NOT_ANALYSED:
      title = _("Not Analysed");
      description = g_strdup (_("Run the analysis (Ctrl+R) to list every "
                                "tested pair of cells."));
      break;
    case IMP_VIEW_STATE_NO_RESULT:
      title = _("No Analysis Yet");
      description = g_strdup (_("The analysis has not been run yet or is "
                                "still running; the candidate pairs are "
                                "listed when it has finished."));
      break;
    case IMP_VIEW_STATE_READY:
    default:
      if (result->candidates != NULL && result->candidates->len > 0)
        return FALSE;
      description = describe_no_candidates (result);
      break;
    }

  /* the description is markup; the analysis' notes are plain text */
  escaped = g_markup_escape_text (description, -1);
  adw_status_page_set_title (page, title);
  adw_status_page_set_description (page, escaped);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
  return TRUE;
}

static void
repopulate (ImpPairsView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);
  g_autoptr(GPtrArray) items = NULL;

  self->syncing = TRUE;
  g_list_store_remove_all (self->store);
  if (show_status (self))
    {
      self->syncing = FALSE;
      update_detail (self);
      return;
    }

  items = g_ptr_array_new_full (result->candidates->len, g_object_unref);
  for (guint i = 0; i < result->candidates->len; i++)
    g_ptr_array_add (items, imp_candidate_item_new (result, i));
  g_list_store_splice (self->store, 0, 0, items->pdata, items->len);
  self->syncing = FALSE;

  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "pairs");
  update_count (self);
  sync_list_selection (self);
  update_detail (self);
}

static void
result_changed_cb (ImpPairsView *self)
{
  repopulate (self);
}

/* Only the status page can change while there is no result. */
static void
state_changed_cb (ImpPairsView *self)
{
  if (imp_session_get_result (self->session) == NULL)
    show_status (self);
}

static void
selected_changed_cb (ImpPairsView *self)
{
  sync_list_selection (self);
  update_detail (self);
}

static void
filter_changed_cb (ImpPairsView *self)
{
  gtk_filter_changed (self->filter, GTK_FILTER_CHANGE_DIFFERENT);
  update_count (self);
  sync_list_selection (self);
}

static void
sorted_items_changed_cb (ImpPairsView *self)
{
  update_count (self);
}

/* Object */

static void
imp_pairs_view_constructed (GObject *object)
{
  ImpPairsView *self = IMP_PAIRS_VIEW (object);

  G_OBJECT_CLASS (imp_pairs_view_parent_class)->constructed (object);

  g_return_if_fail (IMP_IS_SESSION (self->session));

  g_signal_connect_object (self->session, "notify::recording",
                           G_CALLBACK (state_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::result",
                           G_CALLBACK (result_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::selected",
                           G_CALLBACK (selected_changed_cb), self,
                           G_CONNECT_SWAPPED);
  imp_plot_watch_analysing (self->session, G_CALLBACK (state_changed_cb),
                            self);
  repopulate (self);
}

static void
imp_pairs_view_dispose (GObject *object)
{
  ImpPairsView *self = IMP_PAIRS_VIEW (object);

  /* taking the columns down re-sorts the list: nobody is listening now */
  if (self->sorted != NULL)
    g_signal_handlers_disconnect_by_data (self->sorted, self);
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), IMP_TYPE_PAIRS_VIEW);
  g_clear_object (&self->selection);
  g_clear_object (&self->sorted);
  g_clear_object (&self->filter);
  g_clear_object (&self->store);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (imp_pairs_view_parent_class)->dispose (object);
}

static void
imp_pairs_view_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ImpPairsView *self = IMP_PAIRS_VIEW (object);

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
imp_pairs_view_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ImpPairsView *self = IMP_PAIRS_VIEW (object);

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
imp_pairs_view_class_init (ImpPairsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = imp_pairs_view_constructed;
  object_class->dispose = imp_pairs_view_dispose;
  object_class->get_property = imp_pairs_view_get_property;
  object_class->set_property = imp_pairs_view_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         IMP_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                         | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (IMP_TYPE_AVERAGE_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/imprint/Imprint/"
                                               "imp-pairs-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView, stack);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView,
                                        status_page);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView, search);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView,
                                        significant_only);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView,
                                        column_view);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView, count);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView,
                                        detail_title);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView,
                                        detail_facts);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView,
                                        show_button);
  gtk_widget_class_bind_template_child (widget_class, ImpPairsView, average);
  gtk_widget_class_bind_template_callback (widget_class, filter_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, show_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "imppairsview");
}

static void
imp_pairs_view_init (ImpPairsView *self)
{
  GtkFilterListModel *filtered;
  GtkSorter *sorter;
  GListModel *store;

  gtk_widget_init_template (GTK_WIDGET (self));
  add_columns (self);

  self->store = g_list_store_new (IMP_TYPE_CANDIDATE_ITEM);
  store = G_LIST_MODEL (self->store);
  self->filter = GTK_FILTER (gtk_custom_filter_new (filter_func, self, NULL));
  filtered = gtk_filter_list_model_new (g_object_ref (store),
                                        g_object_ref (self->filter));
  sorter = gtk_column_view_get_sorter (GTK_COLUMN_VIEW (self->column_view));
  self->sorted = gtk_sort_list_model_new (G_LIST_MODEL (filtered),
                                          g_object_ref (sorter));
  self->selection =
    gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->sorted)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_column_view_set_model (GTK_COLUMN_VIEW (self->column_view),
                             GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (selection_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->sorted, "items-changed",
                           G_CALLBACK (sorted_items_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

/**
 * imp_pairs_view_new:
 * @session: the window's session
 *
 * Returns: (transfer floating): the candidate pairs view
 */
GtkWidget *
imp_pairs_view_new (ImpSession *session)
{
  g_return_val_if_fail (IMP_IS_SESSION (session), NULL);

  return g_object_new (IMP_TYPE_PAIRS_VIEW, "session", session, NULL);
}

/* Internal, for tests */

GtkSingleSelection *
_imp_pairs_view_get_selection (ImpPairsView *self)
{
  g_return_val_if_fail (IMP_IS_PAIRS_VIEW (self), NULL);

  return self->selection;
}

void
_imp_pairs_view_set_filter (ImpPairsView *self,
                            const char   *text,
                            gboolean      significant_only)
{
  g_return_if_fail (IMP_IS_PAIRS_VIEW (self));

  gtk_editable_set_text (GTK_EDITABLE (self->search), text);
  gtk_switch_set_active (GTK_SWITCH (self->significant_only),
                         significant_only);
  /* the search entry reports changes after a delay; do not wait for it */
  filter_changed_cb (self);
}

void
_imp_pairs_view_sort_by (ImpPairsView *self,
                         const char   *property,
                         GtkSortType   order)
{
  GListModel *columns;

  g_return_if_fail (IMP_IS_PAIRS_VIEW (self));

  columns = gtk_column_view_get_columns (GTK_COLUMN_VIEW (self->column_view));
  for (Column column = 0; column < N_COLUMNS; column++)
    {
      g_autoptr(GtkColumnViewColumn) col = NULL;

      if (!g_str_equal (column_info[column].property, property))
        continue;
      col = g_list_model_get_item (columns, column);
      gtk_column_view_sort_by_column (GTK_COLUMN_VIEW (self->column_view),
                                      col, order);
      return;
    }

  g_return_if_reached ();
}

GtkWidget *
_imp_pairs_view_get_column_view (ImpPairsView *self)
{
  g_return_val_if_fail (IMP_IS_PAIRS_VIEW (self), NULL);

  return self->column_view;
}

void
_imp_pairs_view_activate_row (ImpPairsView *self,
                              guint         position)
{
  g_return_if_fail (IMP_IS_PAIRS_VIEW (self));

  row_activated_cb (self, position);
}

/**
 * imp_pairs_view_focus_search:
 * @self: the view
 *
 * Moves the keyboard focus to the search field, its text selected, so
 * that typing a channel's label finds its pairs.
 */
void
imp_pairs_view_focus_search (ImpPairsView *self)
{
  g_return_if_fail (IMP_IS_PAIRS_VIEW (self));

  gtk_widget_grab_focus (self->search);
  gtk_editable_select_region (GTK_EDITABLE (self->search), 0, -1);
}

char *
_imp_pairs_view_get_cell (ImpPairsView *self,
                          guint         position,
                          const char   *title)
{
  g_autoptr(ImpCandidateItem) item = NULL;

  g_return_val_if_fail (IMP_IS_PAIRS_VIEW (self), NULL);

  item = g_list_model_get_item (G_LIST_MODEL (self->sorted), position);
  if (item == NULL)
    return NULL;
  for (Column column = 0; column < N_COLUMNS; column++)
    if (g_str_equal (column_info[column].title, title))
      return cell_text (imp_candidate_item_get_candidate (item), item,
                        imp_candidate_item_get_alpha (item), column);
  return NULL;
}

const char *
_imp_pairs_view_get_detail (ImpPairsView *self)
{
  g_return_val_if_fail (IMP_IS_PAIRS_VIEW (self), NULL);

  return gtk_label_get_text (GTK_LABEL (self->detail_facts));
}

gboolean
_imp_pairs_view_get_status (ImpPairsView *self,
                            const char  **title,
                            const char  **description)
{
  g_return_val_if_fail (IMP_IS_PAIRS_VIEW (self), FALSE);

  *title = adw_status_page_get_title (ADW_STATUS_PAGE (self->status_page));
  *description = adw_status_page_get_description
                   (ADW_STATUS_PAGE (self->status_page));
  return g_strcmp0 (gtk_stack_get_visible_child_name
                      (GTK_STACK (self->stack)), "empty") == 0;
}

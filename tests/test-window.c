/* test-window.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "imp-application.h"
#include "imp-histogram-view.h"
#include "imp-native.h"
#include "imp-pyramid.h"
#include "imp-session.h"
#include "imp-simulate.h"
#include "imp-trace-cache.h"
#include "imp-traces-view-private.h"
#include "imp-window.h"

#include "imp-test-util.h"

static char *tmp_dir;
static char *recording_path;
static ImpApplication *app;

/* Helpers */

static gboolean
settled (gpointer data)
{
  return _imp_traces_view_is_settled (data);
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static gboolean
not_busy (gpointer data)
{
  return !imp_window_get_busy (data);
}

static gboolean
has_recording (gpointer data)
{
  return imp_session_get_recording (imp_window_get_session (data)) != NULL;
}

static gboolean
has_label_containing (GtkWidget  *widget,
                      const char *text)
{
  if (GTK_IS_LABEL (widget) &&
      strstr (gtk_label_get_label (GTK_LABEL (widget)), text) != NULL)
    return TRUE;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (has_label_containing (child, text))
      return TRUE;

  return FALSE;
}

static gboolean
has_garbage_row (gpointer data)
{
  GtkWidget *list = find_descendant (data, GTK_TYPE_LIST_BOX);

  return list != NULL && has_label_containing (list, "garbage.h5");
}

static AdwMessageDialog *
find_message_dialog (GtkWindow *parent)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) &&
          gtk_window_get_transient_for (window) == parent)
        return ADW_MESSAGE_DIALOG (window);
    }

  return NULL;
}

static ImpWindow *
create_window (void)
{
  ImpWindow *window = imp_window_new (GTK_APPLICATION (app));

  g_object_ref (window);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
destroy_window (ImpWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  spin (50);
  g_assert_finalize_object (window);
}

static void
open_path (ImpWindow  *window,
           const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  imp_window_open (window, file);
  g_assert_true (imp_window_get_busy (window));
}

/* Tests */

static void
test_window_views (void)
{
  ImpWindow *window = create_window ();
  AdwViewStack *stack;
  g_autoptr(GtkSelectionModel) pages = NULL;
  static const char * const names[] = {
    "traces", "pairs", "histograms", "map", "imprint"
  };
  static const char * const titles[] = {
    "Traces", "Pairs", "Histograms", "Map", "Imprint"
  };

  stack = ADW_VIEW_STACK (find_descendant (GTK_WIDGET (window),
                                           ADW_TYPE_VIEW_STACK));
  g_assert_nonnull (stack);

  pages = adw_view_stack_get_pages (stack);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (pages)), ==, 5);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(AdwViewStackPage) page = NULL;

      page = g_list_model_get_item (G_LIST_MODEL (pages), i);
      g_assert_cmpstr (adw_view_stack_page_get_name (page), ==, names[i]);
      g_assert_cmpstr (adw_view_stack_page_get_title (page), ==, titles[i]);
      g_assert_nonnull (adw_view_stack_page_get_icon_name (page));
    }

  /* Nothing open: no analysis, nothing to cancel, no view switching. */
  g_assert_false (imp_window_get_busy (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.analyze", NULL);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel", NULL);
  gtk_widget_activate_action (GTK_WIDGET (window),
                              "win.show-view", "s", "map");
  g_assert_false (imp_window_get_busy (window));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==,
                   "traces");

  destroy_window (window);
}

static void
test_window_open (void)
{
  ImpWindow *window = create_window ();
  ImpSession *session = imp_window_get_session (window);
  g_autofree char *basename = g_path_get_basename (recording_path);
  ImpAnalysisResult *result;
  AdwViewStack *stack;
  ImpTracesView *traces;
  double start, end;

  open_path (window, recording_path);
  wait_until (not_busy, window);

  g_assert_nonnull (imp_session_get_recording (session));
  result = imp_session_get_result (session);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->n_channels, ==,
                    imp_recording_get_n_channels (
                      imp_session_get_recording (session)));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, basename);
  g_assert_true (has_label_containing (GTK_WIDGET (window),
                                       "connections found"));

  /* Switching views by action, as Alt+1..5 do. */
  stack = ADW_VIEW_STACK (find_descendant (GTK_WIDGET (window),
                                           ADW_TYPE_VIEW_STACK));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==,
                   "traces");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window),
                                             "win.show-view", "s", "map"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "map");
  gtk_widget_activate_action (GTK_WIDGET (window),
                              "win.show-view", "s", "pairs");
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==,
                   "pairs");
  /* From the pairs list to the histogram of the selected pair: the
   * keyboard focus follows into the histogram, not into the bin width's
   * entry, where typing would change the bins. */
  imp_session_set_selected (session, 0);
  gtk_widget_child_focus (adw_view_stack_get_visible_child (stack),
                          GTK_DIR_TAB_FORWARD);
  g_assert_nonnull (gtk_root_get_focus (GTK_ROOT (window)));
  gtk_widget_activate_action (GTK_WIDGET (window),
                              "win.show-view", "s", "histograms");
  spin (100);
  {
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));

    g_assert_nonnull (focus);
    g_assert_null (gtk_widget_get_ancestor (focus, GTK_TYPE_SPIN_BUTTON));
    g_assert_nonnull (gtk_widget_get_ancestor (focus,
                                               IMP_TYPE_HISTOGRAM_VIEW));
  }
  /* Ctrl+F, from any view: the Pairs view's search field. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.find",
                                             NULL));
  spin (100);
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==,
                   "pairs");
  {
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));

    g_assert_nonnull (focus);
    g_assert_nonnull (gtk_widget_get_ancestor (focus,
                                               GTK_TYPE_SEARCH_ENTRY));
  }
  gtk_widget_activate_action (GTK_WIDGET (window),
                              "win.show-view", "s", "traces");
  spin (100);

  /* The traces view shows the start and clamps to the recording. */
  traces = IMP_TRACES_VIEW (find_descendant (GTK_WIDGET (window),
                                             IMP_TYPE_TRACES_VIEW));
  g_assert_nonnull (traces);
  imp_traces_view_set_visible_range (traces, -3, 1);
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat (start, ==, 0);
  g_assert_cmpfloat_with_epsilon (end, 4, 1e-6);
  g_assert_cmpint (imp_traces_view_get_first_channel (traces), ==, 0);

  destroy_window (window);
}

static GtkWidget *
find_by_css_class (GtkWidget  *widget,
                   const char *name)
{
  if (gtk_widget_has_css_class (widget, name))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_by_css_class (child, name);

      if (found != NULL)
        return found;
    }

  return NULL;
}

/* Shown, and not ellipsized. The header may lay itself out again once
 * its title is shown, so this waits for the layout to settle. */
static gboolean
label_fits (gpointer data)
{
  GtkLabel *label = data;

  return gtk_widget_get_mapped (data) &&
         gtk_widget_get_width (data) > 0 &&
         !pango_layout_is_ellipsized (gtk_label_get_layout (label));
}

/* At the template's smallest default width the header still shows the
 * file's name and all its details. */
static void
test_window_header (void)
{
  ImpWindow *window = imp_window_new (GTK_APPLICATION (app));
  GtkWidget *title;
  GtkWidget *details;

  g_object_ref (window);
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  open_path (window, recording_path);
  wait_until (not_busy, window);

  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), <=, 1200);
  title = find_by_css_class (GTK_WIDGET (window), "file-title");
  g_assert_nonnull (title);
  wait_until (label_fits, gtk_widget_get_first_child (title));
  details = gtk_widget_get_last_child (title);
  wait_until (label_fits, details);
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (details)),
                            "12 channels"));
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (details)),
                            "20 s"));

  destroy_window (window);
}

static void
test_traces_keys (void)
{
  ImpWindow *window = create_window ();
  ImpTracesView *traces;
  GtkWidget *canvas;
  double duration, start, end;

  open_path (window, recording_path);
  wait_until (not_busy, window);
  duration = imp_recording_get_duration (
               imp_session_get_recording (imp_window_get_session (window)));

  traces = IMP_TRACES_VIEW (find_descendant (GTK_WIDGET (window),
                                             IMP_TYPE_TRACES_VIEW));
  canvas = find_descendant (GTK_WIDGET (traces), GTK_TYPE_DRAWING_AREA);
  g_assert_nonnull (canvas);

  imp_traces_view_set_visible_range (traces, 4, 8);

  /* Arrows move by a tenth of the view, +/- zoom around its middle. */
  g_assert_true (press_key (canvas, GDK_KEY_Right, 0));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat_with_epsilon (start, 4.4, 1e-6);
  g_assert_cmpfloat_with_epsilon (end, 8.4, 1e-6);

  g_assert_true (press_key (canvas, GDK_KEY_Left, GDK_SHIFT_MASK));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat_with_epsilon (start, 2.4, 1e-6);

  g_assert_true (press_key (canvas, GDK_KEY_plus, 0));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat_with_epsilon (end - start, 2, 1e-3);

  g_assert_true (press_key (canvas, GDK_KEY_minus, 0));
  g_assert_true (press_key (canvas, GDK_KEY_minus, 0));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat_with_epsilon (end - start, 8, 1e-3);

  /* Home, End and the whole recording, within its limits. */
  g_assert_true (press_key (canvas, GDK_KEY_End, 0));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat_with_epsilon (end, duration, 1e-6);
  g_assert_true (press_key (canvas, GDK_KEY_Right, 0));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat_with_epsilon (end, duration, 1e-6);

  g_assert_true (press_key (canvas, GDK_KEY_Home, 0));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat (start, ==, 0);

  g_assert_true (press_key (canvas, GDK_KEY_0, 0));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat (start, ==, 0);
  g_assert_cmpfloat_with_epsilon (end, duration, 1e-6);

  /* Channels scroll; keys the view does not use pass on. */
  g_assert_true (press_key (canvas, GDK_KEY_Page_Down, 0));
  g_assert_true (press_key (canvas, GDK_KEY_Up, GDK_SHIFT_MASK));
  g_assert_true (press_key (canvas, GDK_KEY_a, 0));
  g_assert_false (press_key (canvas, GDK_KEY_q, 0));
  spin (100);

  destroy_window (window);
}

static void
test_window_selection (void)
{
  ImpWindow *window = create_window ();
  ImpSession *session = imp_window_get_session (window);
  ImpAnalysisResult *result;
  ImpCandidate *candidate;
  ImpTracesView *traces;
  GArray *aps;
  double rate, start, end, first_ap;
  guint pre, post;
  guint n_analyzing = 0;

  open_path (window, recording_path);
  wait_until (not_busy, window);

  result = imp_session_get_result (session);
  g_assert_nonnull (result);
  if (result->candidates->len == 0)
    {
      g_test_skip ("The simulated recording has no candidates");
      destroy_window (window);
      return;
    }

  imp_session_set_selected (session, 0);
  candidate = imp_session_get_selected_candidate (session);
  g_assert_nonnull (candidate);
  g_assert_true (candidate == g_ptr_array_index (result->candidates, 0));

  traces = IMP_TRACES_VIEW (find_descendant (GTK_WIDGET (window),
                                             IMP_TYPE_TRACES_VIEW));
  g_assert_cmpint (imp_traces_view_get_first_channel (traces), ==,
                   (int) candidate->pre);

  /* The view jumps to the first presynaptic AP. */
  aps = result->aps[candidate->pre];
  rate = imp_recording_get_sample_rate (imp_session_get_recording (session));
  imp_traces_view_get_visible_range (traces, &start, &end);
  if (aps->len > 0)
    {
      first_ap = g_array_index (aps, ImpEvent, 0).sample / rate;
      g_assert_cmpfloat (start, <=, first_ap);
      g_assert_cmpfloat (end, >=, first_ap);
    }

  /* The postsynaptic row is scaled for its PSPs, on a scale of its own;
   * the presynaptic one keeps the scale its APs fit. */
  wait_until (settled, traces);
  g_assert_cmpfloat (_imp_traces_view_get_gain (traces, candidate->post), >,
                     2 * _imp_traces_view_get_gain (traces, candidate->pre));

  /* Running the analysis again keeps the pair selected; the session says
   * when it runs. */
  imp_session_set_selected (session, result->candidates->len - 1);
  candidate = imp_session_get_selected_candidate (session);
  pre = candidate->pre;
  post = candidate->post;
  g_signal_connect_swapped (session, "notify::analyzing",
                            G_CALLBACK (count_cb), &n_analyzing);
  g_assert_false (imp_session_get_analyzing (session));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window),
                                             "win.analyze", NULL));
  g_assert_true (imp_session_get_analyzing (session));
  wait_until (not_busy, window);
  g_assert_false (imp_session_get_analyzing (session));
  g_assert_cmpuint (n_analyzing, ==, 2);
  g_signal_handlers_disconnect_by_data (session, &n_analyzing);
  g_assert_true (imp_session_get_result (session) != result);
  result = imp_session_get_result (session);
  candidate = imp_session_get_selected_candidate (session);
  g_assert_nonnull (candidate);
  g_assert_cmpuint (candidate->pre, ==, pre);
  g_assert_cmpuint (candidate->post, ==, post);

  /* An index past the candidates clears the selection. */
  imp_session_set_selected (session, G_MAXINT);
  g_assert_cmpint (imp_session_get_selected (session), ==, -1);
  g_assert_null (imp_session_get_selected_candidate (session));
  g_assert_cmpint (imp_traces_view_get_first_channel (traces), ==, 0);

  /* A new result clears the selection too. */
  imp_session_set_selected (session, 0);
  imp_session_set_result (session, NULL);
  g_assert_cmpint (imp_session_get_selected (session), ==, -1);

  spin (100);
  destroy_window (window);
}

static void
test_window_drop (void)
{
  ImpWindow *window = create_window ();
  g_autoptr(GFile) file = g_file_new_for_path (recording_path);
  g_autoptr(GListModel) controllers = NULL;
  GtkDropTarget *target = NULL;
  GValue value = G_VALUE_INIT;
  GSList *files;
  gboolean accepted = FALSE;

  controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        target = GTK_DROP_TARGET (controller);
    }
  g_assert_nonnull (target);

  /* A file dropped from a file manager arrives as a file list. */
  files = g_slist_prepend (NULL, file);
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_set_boxed (&value, files);
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
  g_value_unset (&value);
  g_slist_free (files);

  g_assert_true (accepted);
  g_assert_true (imp_window_get_busy (window));
  wait_until (not_busy, window);
  g_assert_true (has_recording (window));

  g_clear_object (&controllers);
  destroy_window (window);
}

static void
test_window_bad_file (void)
{
  ImpWindow *window = create_window ();
  ImpSession *session = imp_window_get_session (window);
  g_autofree char *path = g_build_filename (tmp_dir, "garbage.h5", NULL);
  g_autofree char *uri = NULL;
  g_autoptr(GError) error = NULL;
  GtkRecentManager *manager;
  GtkRecentData data = { 0 };
  AdwMessageDialog *dialog;
  char garbage[4096];

  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = (char) (i * 7919 % 251);
  g_file_set_contents (path, garbage, sizeof garbage, &error);
  g_assert_no_error (error);

  /* As if it had been opened before, and listed on the start page. */
  uri = g_filename_to_uri (path, NULL, NULL);
  data.display_name = (char *) "garbage.h5";
  data.mime_type = (char *) "application/octet-stream";
  data.app_name = (char *) g_get_application_name ();
  data.app_exec = (char *) "imprint %f";
  manager = gtk_recent_manager_get_default ();
  g_assert_true (gtk_recent_manager_add_full (manager, uri, &data));
  wait_until (has_garbage_row, window);

  /* A bad file is the user's, not a program error: a dialog, and no
   * warning (which gtk_test_init makes fatal). */
  open_path (window, path);
  wait_until (not_busy, window);

  /* It leaves the recent files and the start page at once. */
  g_assert_false (gtk_recent_manager_has_item (manager, uri));
  g_assert_false (has_garbage_row (window));

  g_assert_null (imp_session_get_recording (session));
  dialog = find_message_dialog (GTK_WINDOW (window));
  g_assert_nonnull (dialog);
  g_assert_nonnull (strstr (adw_message_dialog_get_heading (dialog),
                            "garbage.h5"));
  g_assert_nonnull (adw_message_dialog_get_body (dialog));
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* A missing file is an error too, not a crash. */
  open_path (window, "/nonexistent/recording.h5");
  wait_until (not_busy, window);
  dialog = find_message_dialog (GTK_WINDOW (window));
  g_assert_nonnull (dialog);
  gtk_window_destroy (GTK_WINDOW (dialog));

  g_unlink (path);
  destroy_window (window);
}

static void
test_window_cancel (void)
{
  ImpWindow *window = create_window ();
  ImpSession *session = imp_window_get_session (window);

  open_path (window, recording_path);

  /* The analysis starts in the same callback that sets the recording, so
   * it cannot have delivered a result yet. */
  wait_until (has_recording, window);
  g_assert_true (imp_window_get_busy (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window),
                                             "win.cancel", NULL));

  g_assert_false (imp_window_get_busy (window));
  g_assert_null (imp_session_get_result (session));
  g_assert_true (has_label_containing (GTK_WIDGET (window), "cancelled"));

  /* Whatever the worker still returns is dropped. */
  spin (1500);
  g_assert_null (imp_session_get_result (session));

  /* Running it again works. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window),
                                             "win.analyze", NULL));
  wait_until (not_busy, window);
  g_assert_nonnull (imp_session_get_result (session));

  /* Closing the window while it analyses cancels the run. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.analyze", NULL);
  g_assert_true (imp_window_get_busy (window));
  destroy_window (window);
  spin (1500);
}

static ImpWindow *
find_new_window (GList *before)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app));
       l != NULL;
       l = l->next)
    if (IMP_IS_WINDOW (l->data) && g_list_find (before, l->data) == NULL)
      return l->data;

  return NULL;
}

static void
test_application_open (void)
{
  g_autoptr(GFile) file = g_file_new_for_path (recording_path);
  g_autoptr(GList) before = NULL;
  ImpWindow *window;
  ImpSession *session;

  /* As for "imprint FILE": a window of its own that opens the file. */
  before = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (app)));
  g_application_open (G_APPLICATION (app), &file, 1, "");
  window = find_new_window (before);
  g_assert_nonnull (window);
  g_object_ref (window);

  wait_until (not_busy, window);
  session = imp_window_get_session (window);
  g_assert_nonnull (imp_session_get_recording (session));
  g_assert_nonnull (imp_session_get_result (session));
  destroy_window (window);

  /* A new window starts empty. */
  g_clear_pointer (&before, g_list_free);
  before = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (app)));
  g_action_group_activate_action (G_ACTION_GROUP (app), "new-window", NULL);
  window = find_new_window (before);
  g_assert_nonnull (window);
  g_object_ref (window);
  g_assert_null (imp_session_get_recording (imp_window_get_session (window)));
  g_assert_false (imp_window_get_busy (window));
  destroy_window (window);
}

static void
test_session_notify (void)
{
  ImpSession *session = imp_session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) recording = NULL;

  recording = imp_recording_open (recording_path, &error);
  g_assert_no_error (error);

  g_assert_null (imp_session_get_recording (session));
  g_assert_cmpint (imp_session_get_selected (session), ==, -1);

  /* No result: nothing can be selected. */
  imp_session_set_selected (session, 0);
  g_assert_cmpint (imp_session_get_selected (session), ==, -1);

  imp_session_set_recording (session, recording);
  g_assert_true (imp_session_get_recording (session) == recording);
  imp_session_set_recording (session, NULL);
  g_assert_null (imp_session_get_recording (session));

  g_assert_finalize_object (session);
}

/* Trace cache */

static void
reference_min_max (ImpRecording *recording,
                   guint         channel,
                   gint64        start,
                   gint64        n,
                   float        *min,
                   float        *max)
{
  g_autofree float *values = g_new (float, n);
  g_autoptr(GError) error = NULL;

  imp_recording_read (recording, channel, 1, start, n, values, &error);
  g_assert_no_error (error);

  *min = *max = values[0];
  for (gint64 i = 1; i < n; i++)
    {
      *min = MIN (*min, values[i]);
      *max = MAX (*max, values[i]);
    }
}

static void
test_trace_cache_exact (void)
{
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpTraceCache) cache = NULL;
  g_autoptr(GError) error = NULL;
  guint channels[] = { 0, 1, 2, 5, 7 };
  gint64 n_samples;
  gboolean exact;
  float min, max;

  recording = imp_recording_open (recording_path, &error);
  g_assert_no_error (error);
  cache = imp_trace_cache_new (recording);
  n_samples = imp_recording_get_n_samples (recording);

  /* Up to IMP_TRACE_CACHE_EXACT samples a column, every sample counts. */
  for (guint level = 0; (1u << level) <= IMP_TRACE_CACHE_EXACT; level++)
    {
      gint64 spc = G_GINT64_CONSTANT (1) << level;
      gboolean complete;
      gint64 first, end;

      imp_trace_cache_set_level (cache, level);
      end = imp_trace_cache_get_n_columns (cache);
      first = end - 700;
      g_assert_cmpuint (imp_trace_cache_get_level (cache), ==, level);
      g_assert_cmpint (end, ==, (n_samples + spc - 1) / spc);
      imp_trace_cache_fetch (cache, channels, G_N_ELEMENTS (channels),
                             first, end + 10, G_MAXINT64, &complete, &error);
      g_assert_no_error (error);
      g_assert_true (complete);

      for (guint k = 0; k < G_N_ELEMENTS (channels); k++)
        for (gint64 c = first; c < end; c += 37)
          {
            float ref_min, ref_max;

            g_assert_true (imp_trace_cache_get_column (cache, channels[k], c,
                                                       &min, &max, &exact));
            g_assert_true (exact);
            reference_min_max (recording, channels[k], c * spc,
                               MIN (spc, n_samples - c * spc),
                               &ref_min, &ref_max);
            g_assert_cmpfloat (min, ==, ref_min);
            g_assert_cmpfloat (max, ==, ref_max);
          }

      /* Channels and columns outside the request are not read. */
      g_assert_false (imp_trace_cache_get_column (cache, 3, first,
                                                  &min, &max, NULL));
      g_assert_false (imp_trace_cache_get_column (cache, 0, first - 300,
                                                  &min, &max, NULL));
    }
}

static void
test_trace_cache_bounded (void)
{
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpTraceCache) cache = NULL;
  g_autoptr(ImpAnalysisResult) result = NULL;
  g_autoptr(GError) error = NULL;
  ImpAnalysisParams params;
  guint channels[12];
  guint n_channels;
  guint64 n_aps = 0;
  guint64 budget;
  gint64 n_columns;
  gboolean complete;
  guint level;

  recording = imp_recording_open (recording_path, &error);
  g_assert_no_error (error);
  n_channels = MIN (imp_recording_get_n_channels (recording), 12);
  for (guint k = 0; k < n_channels; k++)
    channels[k] = k;

  /* The whole recording on about 1000 pixel columns. */
  level = imp_trace_cache_level_for (imp_recording_get_n_samples (recording)
                                     / 1000.0);
  g_assert_cmpuint (1u << level, >, IMP_TRACE_CACHE_EXACT);

  cache = imp_trace_cache_new (recording);
  imp_trace_cache_set_level (cache, level);
  n_columns = imp_trace_cache_get_n_columns (cache);
  g_assert_cmpint (n_columns, >=, 1000);
  g_assert_cmpint (n_columns, <=, 2000);

  imp_trace_cache_fetch (cache, channels, n_channels, 0, n_columns,
                         G_MAXINT64, &complete, &error);
  g_assert_no_error (error);
  g_assert_true (complete);
  budget = (guint64) IMP_TRACE_CACHE_STRIDE * n_columns * n_channels;
  g_assert_cmpuint (imp_trace_cache_get_samples_read (cache), <=, budget);

  /* A second fetch of the same columns reads nothing. */
  imp_trace_cache_fetch (cache, channels, n_channels, 0, n_columns,
                         G_MAXINT64, &complete, &error);
  g_assert_cmpuint (imp_trace_cache_get_samples_read (cache), <=, budget);

  /* With the APs known, each spike is read, and still within bounds. */
  imp_analysis_params_init_default (&params);
  result = imp_analysis_run (recording, &params, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  imp_trace_cache_set_result (cache, result);
  for (guint k = 0; k < n_channels; k++)
    n_aps += result->aps[k]->len;

  imp_trace_cache_fetch (cache, channels, n_channels, 0, n_columns,
                         G_MAXINT64, &complete, &error);
  g_assert_no_error (error);
  g_assert_true (complete);
  g_assert_cmpuint (imp_trace_cache_get_samples_read (cache), <=,
                    2 * budget + IMP_TRACE_CACHE_STRIDE * n_aps);

  for (guint k = 0; k < n_channels; k++)
    {
      GArray *aps = imp_trace_cache_get_ap_samples (cache, k);

      g_assert_nonnull (aps);
      g_assert_cmpuint (aps->len, ==, result->aps[k]->len);
      for (guint i = 0; i < aps->len; i++)
        {
          gint64 sample = g_array_index (aps, gint64, i);
          float peak, min, max;

          g_assert_true (i == 0 ||
                         sample >= g_array_index (aps, gint64, i - 1));
          reference_min_max (recording, k, sample, 1, &peak, &peak);
          g_assert_true (imp_trace_cache_get_column (cache, k,
                                                     sample >> level,
                                                     &min, &max, NULL));
          /* The first AP of a column is always inside what was read. */
          if (i == 0 ||
              g_array_index (aps, gint64, i - 1) >> level != sample >> level)
            g_assert_cmpfloat (max, >=, peak);
        }
    }
}

static int
compare_floats (const void *a,
                const void *b)
{
  float fa = *(const float *) a;
  float fb = *(const float *) b;

  return (fa > fb) - (fa < fb);
}

/* The order statistics a row is fitted to, against sorting: arrays with
 * ties, runs and a single element. */
static void
test_trace_cache_summarise (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);

  for (guint trial = 0; trial < 300; trial++)
    {
      guint n = 1 + g_rand_int_range (rand, 0, trial < 100 ? 8 : 3000);
      guint levels = 1 + g_rand_int_range (rand, 0, 50);
      g_autoptr(GArray) mids = g_array_new (FALSE, FALSE, sizeof (float));
      g_autoptr(GArray) mins = g_array_new (FALSE, FALSE, sizeof (float));
      g_autoptr(GArray) maxs = g_array_new (FALSE, FALSE, sizeof (float));
      g_autofree float *smid = NULL;
      g_autofree float *smin = NULL;
      g_autofree float *smax = NULL;
      double tail = trial % 3 == 0 ? 0 : 0.02;
      double baseline, above, below;
      guint skip;

      for (guint i = 0; i < n; i++)
        {
          float mid = g_rand_int_range (rand, 0, levels) * 0.5f;
          float lo = mid - g_rand_int_range (rand, 0, levels);
          float hi = mid + g_rand_int_range (rand, 0, levels);

          g_array_append_val (mids, mid);
          g_array_append_val (mins, lo);
          g_array_append_val (maxs, hi);
        }
      smid = g_memdup2 (mids->data, n * sizeof (float));
      smin = g_memdup2 (mins->data, n * sizeof (float));
      smax = g_memdup2 (maxs->data, n * sizeof (float));
      qsort (smid, n, sizeof (float), compare_floats);
      qsort (smin, n, sizeof (float), compare_floats);
      qsort (smax, n, sizeof (float), compare_floats);
      skip = (guint) (tail * n);

      g_assert_true (imp_trace_cache_summarise (mids, mins, maxs, tail,
                                                &baseline, &above, &below));
      g_assert_cmpfloat (baseline, ==, smid[n / 2]);
      g_assert_cmpfloat (above, ==, smax[n - 1 - skip] - smid[n / 2]);
      g_assert_cmpfloat (below, ==, smid[n / 2] - smin[skip]);
    }
}

/* Recordings made for one test */

typedef struct
{
  const char *label;
  const char *unit;
  double      gain;      /* physical unit per stored count */
  ImpAccess   access;
} TestChannel;

typedef float (*SampleFunc) (guint  channel,
                             gint64 sample);

/* Writes a native recording of @func's samples; returns its path. */
static char *
write_recording (const char        *name,
                 const TestChannel *channels,
                 guint              n_channels,
                 double             rate,
                 gint64             n_samples,
                 guint              n_sweeps,
                 SampleFunc         func)
{
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint16 *counts = NULL;
  char *path = g_build_filename (tmp_dir, name, NULL);
  gint64 chunk = 65536;

  writer = imp_native_writer_new (path, n_channels, rate, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < n_channels; c++)
    imp_native_writer_set_channel (writer, c, channels[c].label,
                                   channels[c].unit, channels[c].gain, 0,
                                   100.0 * c, 0, channels[c].access);

  counts = g_new (gint16, chunk * n_channels);
  for (gint64 start = 0; start < n_samples; start += chunk)
    {
      gint64 n = MIN (chunk, n_samples - start);

      for (gint64 s = 0; s < n; s++)
        for (guint c = 0; c < n_channels; c++)
          counts[s * n_channels + c] =
            (gint16) CLAMP (lrint (func (c, start + s) / channels[c].gain),
                            -32768, 32767);
      imp_native_writer_append (writer, counts, n, &error);
      g_assert_no_error (error);
    }

  for (guint i = 0; n_sweeps > 1 && i < n_sweeps; i++)
    imp_native_writer_add_sweep (writer, n_samples / n_sweeps,
                                 i * (n_samples / n_sweeps) / rate);

  imp_native_writer_close (writer, &error);
  g_assert_no_error (error);

  return path;
}

/* A small deterministic hash, for noise and spike positions. */
static guint32
hash32 (guint32 x)
{
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

#define SPIKE_RATE     10000.0
#define SPIKE_SAMPLES  600000    /* 60 s */
#define SPIKE_PERIOD   1000      /* one bump every 100 ms */
#define SPIKE_LATE     100000    /* channel 2 fires after 10 s only */

/* Where the bump of period @i starts on @channel, and its peak. */
static gint64
spike_at (guint  channel,
          gint64 i)
{
  return i * SPIKE_PERIOD + 2 + hash32 ((guint32) (i * 3 + channel)) %
                                (SPIKE_PERIOD - 8);
}

static float
spike_peak (guint  channel,
            gint64 i)
{
  switch (channel)
    {
    case 0:
      return -65 + 20 + (i % 7) * 3;      /* mV, 0.3 ms bumps */
    case 1:
      return -50 - (i % 5) * 20;          /* pA, one-sample dips */
    default:
      return -65 + 80;                    /* mV, APs */
    }
}

/* Channel 0: a membrane potential with 0.3 ms bumps of 20 to 38 mV every
 * 100 ms; channel 1: a current with one-sample dips of 50 to 130 pA;
 * channel 2: a membrane potential, quiet for 10 s, then 80 mV spikes;
 * channel 3: a membrane potential without events. */
static float
spike_sample (guint  channel,
              gint64 sample)
{
  float noise = (hash32 ((guint32) (sample * 5 + channel)) % 1000) / 1000.0f;
  gint64 i = sample / SPIKE_PERIOD;
  gint64 at = spike_at (channel, i);
  gint64 width = channel == 0 ? 3 : 1;
  float base = channel == 1 ? 0 : -65;

  if (channel == 3 || (channel == 2 && sample < SPIKE_LATE))
    return base + 0.2f * noise;
  if (sample >= at && sample < at + width)
    return spike_peak (channel, i);
  return base + (channel == 1 ? 2.0f : 0.2f) * noise;
}

static const TestChannel spike_channels[] = {
  { "Vm 1", "mV", 0.01, IMP_ACCESS_INTRACELLULAR },
  { "Imemb", "pA", 0.1, IMP_ACCESS_INTRACELLULAR },
  { "Vm 2", "mV", 0.01, IMP_ACCESS_INTRACELLULAR },
  { "Vm 3", "mV", 0.01, IMP_ACCESS_INTRACELLULAR },
};

static char *spike_path;

static const char *
get_spike_path (void)
{
  if (spike_path == NULL)
    spike_path = write_recording ("spikes.h5", spike_channels,
                                  G_N_ELEMENTS (spike_channels),
                                  SPIKE_RATE, SPIKE_SAMPLES, 1,
                                  spike_sample);
  return spike_path;
}

/* Every column's range, the slow way. */
static void
brute_force_columns (ImpRecording *recording,
                     guint         channel,
                     guint         level,
                     float       **mins,
                     float       **maxs)
{
  gint64 n_samples = imp_recording_get_n_samples (recording);
  gint64 spc = G_GINT64_CONSTANT (1) << level;
  gint64 n_columns = (n_samples + spc - 1) / spc;
  g_autofree float *values = g_new (float, n_samples);
  g_autoptr(GError) error = NULL;

  imp_recording_read (recording, channel, 1, 0, n_samples, values, &error);
  g_assert_no_error (error);

  *mins = g_new (float, n_columns);
  *maxs = g_new (float, n_columns);
  for (gint64 c = 0; c < n_columns; c++)
    {
      (*mins)[c] = INFINITY;
      (*maxs)[c] = -INFINITY;
      for (gint64 s = c * spc; s < MIN ((c + 1) * spc, n_samples); s++)
        {
          (*mins)[c] = MIN ((*mins)[c], values[s]);
          (*maxs)[c] = MAX ((*maxs)[c], values[s]);
        }
    }
}

typedef struct
{
  ImpTraceCache *cache;
  const guint   *channels;
  guint          n_channels;
  gint64         first;
  gint64         end;
} ExactWait;

static gboolean
cache_exact (gpointer data)
{
  ExactWait *wait = data;

  return imp_trace_cache_is_exact (wait->cache, wait->channels,
                                   wait->n_channels, wait->first, wait->end);
}

static gboolean
extent_known (gpointer data)
{
  double baseline, above, below;

  return imp_trace_cache_get_extent (data, 2, &baseline, &above, &below);
}

/* Zoomed out, a preview misses narrow spikes; the worker's exact columns
 * have every one, and coarser levels are combined from them unread. */
static void
test_trace_cache_refine (void)
{
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpTraceCache) cache = NULL;
  g_autoptr(GError) error = NULL;
  guint channels[] = { 0, 1, 2 };
  ExactWait wait = { NULL, channels, G_N_ELEMENTS (channels), 0, 0 };
  guint level, missed = 0;
  gint64 n_columns;
  gboolean complete;
  guint64 read;
  double baseline, above, below;

  recording = imp_recording_open (get_spike_path (), &error);
  g_assert_no_error (error);
  cache = imp_trace_cache_new (recording);

  /* The whole recording on about 1000 pixel columns. */
  level = imp_trace_cache_level_for (SPIKE_SAMPLES / 1000.0);
  g_assert_cmpuint (1u << level, >, IMP_TRACE_CACHE_EXACT);
  imp_trace_cache_set_level (cache, level);
  n_columns = imp_trace_cache_get_n_columns (cache);

  imp_trace_cache_fetch (cache, channels, 3, 0, n_columns, G_MAXINT64,
                         &complete, &error);
  g_assert_no_error (error);
  g_assert_true (complete);
  g_assert_false (imp_trace_cache_is_exact (cache, channels, 3,
                                            0, n_columns));

  for (guint k = 0; k < 3; k++)
    {
      g_autofree float *mins = NULL;
      g_autofree float *maxs = NULL;

      brute_force_columns (recording, k, level, &mins, &maxs);
      for (gint64 c = 0; c < n_columns; c++)
        {
          gboolean exact;
          float min, max;

          g_assert_true (imp_trace_cache_get_column (cache, k, c, &min, &max,
                                                     &exact));
          g_assert_false (exact);
          g_assert_cmpfloat (min, >=, mins[c]);
          g_assert_cmpfloat (max, <=, maxs[c]);
          if (min != mins[c] || max != maxs[c])
            missed++;
        }
    }
  /* Otherwise this test would prove nothing. */
  g_assert_cmpuint (missed, >, n_columns);

  imp_trace_cache_refine (cache, channels, 3, 0, n_columns);
  wait.cache = cache;
  wait.end = n_columns;
  wait_until (cache_exact, &wait);

  for (guint k = 0; k < 3; k++)
    {
      g_autofree float *mins = NULL;
      g_autofree float *maxs = NULL;

      brute_force_columns (recording, k, level, &mins, &maxs);
      for (gint64 c = 0; c < n_columns; c++)
        {
          gboolean exact;
          float min, max;

          g_assert_true (imp_trace_cache_get_column (cache, k, c, &min, &max,
                                                     &exact));
          g_assert_true (exact);
          g_assert_cmpfloat (min, ==, mins[c]);
          g_assert_cmpfloat (max, ==, maxs[c]);
        }
    }

  /* The overview follows. Its baseline is a typical sample, not the
   * middle of ranges that the spikes stretch; its extent leaves out no
   * spike that recurs. */
  wait_until (extent_known, cache);
  imp_trace_cache_get_extent (cache, 2, &baseline, &above, &below);
  g_assert_cmpfloat (baseline, >=, -65.01);
  g_assert_cmpfloat (baseline, <=, -64.79);
  g_assert_cmpfloat (baseline + above, >=, 14.99);
  g_assert_cmpfloat (baseline - below, >=, -65.01);

  /* Zooming out reads nothing: a deadline in the past allows no read. */
  read = imp_trace_cache_get_samples_read (cache);
  for (guint up = 1; up <= 3; up++)
    {
      imp_trace_cache_set_level (cache, level + up);
      n_columns = imp_trace_cache_get_n_columns (cache);
      imp_trace_cache_fetch (cache, channels, 3, 0, n_columns, 0,
                             &complete, &error);
      g_assert_no_error (error);
      g_assert_true (complete);
      g_assert_true (imp_trace_cache_is_exact (cache, channels, 3,
                                               0, n_columns));
    }
  g_assert_cmpuint (imp_trace_cache_get_samples_read (cache), ==, read);
}

/* With a complete pyramid, columns of 64 samples and more are exact
 * without reading the recording; narrower ones are previews of the
 * 64-sample bins that hold them, so they reach every spike. Against the
 * slow way. */
static void
test_trace_cache_pyramid (void)
{
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpTraceCache) cache = NULL;
  g_autoptr(ImpPyramid) pyramid = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *project = g_build_filename (tmp_dir, "pyr.imprint",
                                               NULL);
  guint channels[] = { 0, 1, 2, 3 };

  recording = imp_recording_open (get_spike_path (), &error);
  g_assert_no_error (error);
  pyramid = imp_pyramid_open (recording, project, &error);
  g_assert_no_error (error);
  g_assert_true (imp_pyramid_build (pyramid, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  cache = imp_trace_cache_new (recording);
  imp_trace_cache_set_pyramid (cache, pyramid, FALSE);

  for (guint level = 4; level <= 11; level++)
    {
      gint64 spc = G_GINT64_CONSTANT (1) << level;
      gint64 n = imp_trace_cache_get_n_columns (cache);
      gboolean complete;

      imp_trace_cache_set_level (cache, level);
      n = imp_trace_cache_get_n_columns (cache);
      g_assert_true (imp_trace_cache_fetch (cache, channels, 4, 0, n,
                                            G_MAXINT64, &complete, &error));
      g_assert_true (complete);
      g_assert_cmpuint (imp_trace_cache_get_samples_read (cache), ==, 0);

      for (guint k = 0; k < 4; k++)
        {
          g_autofree float *mins = NULL;
          g_autofree float *maxs = NULL;
          g_autofree float *bin_mins = NULL;
          g_autofree float *bin_maxs = NULL;

          brute_force_columns (recording, k, level, &mins, &maxs);
          brute_force_columns (recording, k, 6, &bin_mins, &bin_maxs);
          for (gint64 c = 0; c < n; c++)
            {
              gboolean exact;
              float min, max;

              g_assert_true (imp_trace_cache_get_column (cache, k, c, &min,
                                                         &max, &exact));
              if (spc >= 64)
                {
                  g_assert_true (exact);
                  g_assert_cmpfloat (min, ==, mins[c]);
                  g_assert_cmpfloat (max, ==, maxs[c]);
                }
              else
                {
                  g_assert_false (exact);
                  g_assert_cmpfloat (min, ==, bin_mins[c * spc / 64]);
                  g_assert_cmpfloat (max, ==, bin_maxs[c * spc / 64]);
                }
            }
        }
    }

  g_unlink (project);
}

static ImpTracesView *
open_traces (ImpWindow  *window,
             const char *path)
{
  ImpTracesView *traces;

  open_path (window, path);
  wait_until (not_busy, window);
  traces = IMP_TRACES_VIEW (find_descendant (GTK_WIDGET (window),
                                             IMP_TYPE_TRACES_VIEW));
  g_assert_nonnull (traces);
  return traces;
}

/* The whole recording on screen: once the view has settled, every pixel
 * column shows the true range of its samples, and every bump its peak. */
static void
test_traces_exact_zoomed_out (void)
{
  ImpWindow *window = create_window ();
  ImpTracesView *traces = open_traces (window, get_spike_path ());
  ImpRecording *recording;
  GtkWidget *canvas;
  ImpTraceCache *cache;
  gint64 first, end, spc;
  guint level;

  recording = imp_session_get_recording (imp_window_get_session (window));
  canvas = find_descendant (GTK_WIDGET (traces), GTK_TYPE_DRAWING_AREA);
  g_assert_true (press_key (canvas, GDK_KEY_0, 0));
  wait_until (settled, traces);

  cache = _imp_traces_view_get_cache (traces);
  level = imp_trace_cache_get_level (cache);
  spc = G_GINT64_CONSTANT (1) << level;
  g_assert_cmpint (spc, >, IMP_TRACE_CACHE_EXACT);
  _imp_traces_view_get_columns (traces, &first, &end);
  g_assert_cmpint (first, <=, 0);
  g_assert_cmpint (end * spc, >=, SPIKE_SAMPLES);

  for (guint k = 0; k < 3; k++)
    {
      g_autofree float *mins = NULL;
      g_autofree float *maxs = NULL;

      brute_force_columns (recording, k, level, &mins, &maxs);
      for (gint64 c = MAX (first, 0); c < end && c * spc < SPIKE_SAMPLES; c++)
        {
          gboolean exact;
          float min, max;

          g_assert_true (imp_trace_cache_get_column (cache, k, c, &min, &max,
                                                     &exact));
          g_assert_true (exact);
          g_assert_cmpfloat (min, ==, mins[c]);
          g_assert_cmpfloat (max, ==, maxs[c]);
        }

      for (gint64 i = 0; i < SPIKE_SAMPLES / SPIKE_PERIOD; i++)
        {
          gint64 at = spike_at (k, i);
          float peak = spike_peak (k, i);
          float min, max;

          if (k == 2 && at < SPIKE_LATE)
            continue;
          g_assert_true (imp_trace_cache_get_column (cache, k, at / spc,
                                                     &min, &max, NULL));
          /* To the stored precision (0.1 pA, 0.01 mV). */
          if (k == 1)
            g_assert_cmpfloat (min, <=, peak + 0.06);
          else
            g_assert_cmpfloat (max, >=, peak - 0.006);
        }
    }

  destroy_window (window);
}

/* One sample far above a flat trace, between two pixel columns of the
 * whole recording: the pixels there, in its channel's row, reach its
 * height on the row's scale. */
#define LONE_SAMPLES 200000
#define LONE_CHANNEL 2
#define LONE_HEIGHT  1.5     /* mV above the flat -65 mV */

static gint64 lone_at = -1;

static float
lone_sample (guint  channel,
             gint64 sample)
{
  if (channel == LONE_CHANNEL && sample == lone_at)
    return -65 + LONE_HEIGHT;
  return -65;
}

/* Renders @widget as its window would; pixels as 0xAARRGGBB. */
static guint32 *
render_pixels (GtkWidget *widget,
               int       *width,
               int       *height)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  guint32 *pixels;
  GskRenderer *renderer;

  *width = gtk_widget_get_width (widget);
  *height = gtk_widget_get_height (widget);
  gdk_paintable_snapshot (paintable, snapshot, *width, *height);
  node = gtk_snapshot_to_node (snapshot);
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, *width,
                                                              *height));
  g_assert_cmpint (gdk_texture_get_width (texture), ==, *width);
  pixels = g_new (guint32, (gsize) *width * *height);
  gdk_texture_download (texture, (guchar *) pixels, *width * 4);
  return pixels;
}

static ImpTracesView *
open_zoomed_out (ImpWindow  *window,
                 const char *path)
{
  ImpTracesView *traces = open_traces (window, path);
  GtkWidget *canvas = find_descendant (GTK_WIDGET (traces),
                                       GTK_TYPE_DRAWING_AREA);

  g_assert_true (press_key (canvas, GDK_KEY_0, 0));
  wait_until (settled, traces);
  return traces;
}

static void
test_traces_lone_spike (void)
{
  static const TestChannel channels[] = {
    { "A", "mV", 0.01, IMP_ACCESS_INTRACELLULAR },
    { "B", "mV", 0.01, IMP_ACCESS_INTRACELLULAR },
    { "C", "mV", 0.01, IMP_ACCESS_INTRACELLULAR },
    { "D", "mV", 0.01, IMP_ACCESS_INTRACELLULAR },
  };
  g_autofree char *flat = NULL;
  g_autofree char *path = NULL;
  g_autofree guint32 *pixels = NULL;
  ImpWindow *window;
  ImpTracesView *traces;
  GtkWidget *canvas;
  double x, spp, h, top, base_y, expected;
  int width, height, px, far, spike_top = -1;

  /* Where the pixel column edges of the whole recording fall, from a
   * flat recording of the same length. */
  flat = write_recording ("flat.h5", channels, G_N_ELEMENTS (channels),
                          10000, LONE_SAMPLES, 1, lone_sample);
  window = create_window ();
  traces = open_zoomed_out (window, flat);
  spp = 1 / (_imp_traces_view_get_sample_x (traces, 1) -
             _imp_traces_view_get_sample_x (traces, 0));
  g_assert_cmpfloat (spp, >, 100);
  x = _imp_traces_view_get_sample_x (traces, 0.45 * LONE_SAMPLES);
  lone_at = (gint64) round ((ceil (x) - _imp_traces_view_get_sample_x (
                                         traces, 0)) * spp);
  destroy_window (window);

  path = write_recording ("lone.h5", channels, G_N_ELEMENTS (channels),
                          10000, LONE_SAMPLES, 1, lone_sample);
  window = create_window ();
  traces = open_zoomed_out (window, path);
  canvas = find_descendant (GTK_WIDGET (traces), GTK_TYPE_DRAWING_AREA);

  /* The sample lies on (within a tenth of a pixel of) the edge between
   * pixel columns px - 1 and px. */
  x = _imp_traces_view_get_sample_x (traces, lone_at);
  px = (int) round (x);
  g_assert_cmpfloat (fabs (x - px), <, 0.1);

  /* Its height, from the row's geometry and scale: the flat -65 mV is
   * the baseline, at 0.6 of the row. */
  g_assert_cmpint (imp_traces_view_get_first_channel (traces), ==, 0);
  h = _imp_traces_view_get_row_height (traces);
  top = _imp_traces_view_get_row_top (traces, LONE_CHANNEL);
  base_y = top + 0.6 * h;
  expected = base_y - LONE_HEIGHT * _imp_traces_view_get_gain (traces,
                                                                LONE_CHANNEL);
  g_assert_cmpfloat (expected, >, top + 10);

  /* The highest pixel that differs from the same row far away, where
   * the trace is flat, in either pixel column. */
  pixels = render_pixels (canvas, &width, &height);
  far = _imp_traces_view_get_gutter_width () + 20;
  for (int y = (int) (top + 10); y < base_y - 3 && spike_top < 0; y++)
    for (int col = px - 1; col <= px; col++)
      if (pixels[y * width + col] != pixels[y * width + far])
        spike_top = y;

  g_assert_cmpint (spike_top, >=, 0);
  g_assert_cmpfloat (spike_top, >=, expected - 2);
  g_assert_cmpfloat (spike_top, <=, expected + 1);

  destroy_window (window);
  g_unlink (flat);
  g_unlink (path);
}

/* mV and pA rows each get a scale of their own, fitted to the whole
 * recording (the large spikes of channel 2 start after the first 5 s
 * shown), and 0 fits them again after the user changed them. Channels of
 * one unit share it unless their ranges are far apart. */
static void
test_traces_units (void)
{
  ImpWindow *window = create_window ();
  ImpTracesView *traces = open_traces (window, get_spike_path ());
  GtkWidget *canvas;
  double h, gain_mv, gain_pa, start, end;

  canvas = find_descendant (GTK_WIDGET (traces), GTK_TYPE_DRAWING_AREA);
  wait_until (settled, traces);
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat (end * SPIKE_RATE, <, SPIKE_LATE);

  h = _imp_traces_view_get_row_height (traces);
  gain_mv = _imp_traces_view_get_gain (traces, 0);
  gain_pa = _imp_traces_view_get_gain (traces, 1);
  g_assert_cmpfloat (_imp_traces_view_get_gain (traces, 2), ==, gain_mv);
  g_assert_cmpfloat (gain_mv, !=, gain_pa);
  g_assert_cmpfloat (_imp_traces_view_get_gain (traces, 3), >, 3 * gain_mv);

  /* Channel 2's 80 mV spikes fit above the baseline, without being
   * tiny; channel 1's dips of up to 130 pA fit below it. */
  g_assert_cmpfloat (80 * gain_mv, <=, 0.6 * h);
  g_assert_cmpfloat (80 * gain_mv, >=, 0.3 * h);
  g_assert_cmpfloat (130 * gain_pa, <=, 0.4 * h);
  g_assert_cmpfloat (130 * gain_pa, >=, 0.2 * h);

  /* The user scales; the whole recording, fitted again. */
  g_assert_true (press_key (canvas, GDK_KEY_Up, GDK_SHIFT_MASK));
  g_assert_cmpfloat (_imp_traces_view_get_gain (traces, 0), >, gain_mv);
  g_assert_true (press_key (canvas, GDK_KEY_0, 0));
  wait_until (settled, traces);
  /* Scales follow the row height (which the analysis strip, closing,
   * changes), within what the fit's margins change with it. */
  g_assert_cmpfloat_with_epsilon (_imp_traces_view_get_gain (traces, 0) /
                                  _imp_traces_view_get_row_height (traces),
                                  gain_mv / h, 0.03 * gain_mv / h);
  g_assert_cmpfloat_with_epsilon (_imp_traces_view_get_gain (traces, 1) /
                                  _imp_traces_view_get_row_height (traces),
                                  gain_pa / h, 0.03 * gain_pa / h);

  destroy_window (window);
}

static float
flat_sample (guint  channel,
             gint64 sample)
{
  return -65 + (hash32 ((guint32) sample) % 100) / 100.0f;
}

/* Thousands of short sweeps are not a separator per sweep; a long label
 * stays in its column. */
static void
test_traces_sweeps_and_labels (void)
{
  static const TestChannel channels[] = {
    { "A channel label far too long for the label column", "mV", 0.01,
      IMP_ACCESS_INTRACELLULAR },
    { "Vm", "mV", 0.01, IMP_ACCESS_INTRACELLULAR },
  };
  g_autofree char *path = NULL;
  ImpWindow *window = create_window ();
  ImpTracesView *traces;
  GtkWidget *canvas;
  g_autoptr(GArray) xs = NULL;
  int gutter = _imp_traces_view_get_gutter_width ();

  path = write_recording ("sweeps.h5", channels, 2, 10000, 500000, 5000,
                          flat_sample);
  traces = open_traces (window, path);
  canvas = find_descendant (GTK_WIDGET (traces), GTK_TYPE_DRAWING_AREA);

  g_assert_cmpint (_imp_traces_view_get_label_width (traces, 0), <=,
                   gutter - 4);
  g_assert_cmpint (_imp_traces_view_get_label_width (traces, 1), <,
                   gutter / 2);

  g_assert_true (press_key (canvas, GDK_KEY_0, 0));
  xs = _imp_traces_view_get_sweep_lines (traces);
  g_assert_cmpuint (xs->len, >, 10);
  g_assert_cmpuint (xs->len, <=, gtk_widget_get_width (canvas) / 8);
  for (guint i = 1; i < xs->len; i++)
    g_assert_cmpfloat (g_array_index (xs, double, i) -
                       g_array_index (xs, double, i - 1), >=, 8);
  g_clear_pointer (&xs, g_array_unref);

  /* Zoomed in, each sweep has its line. */
  imp_traces_view_set_visible_range (traces, 1.005, 1.105);
  xs = _imp_traces_view_get_sweep_lines (traces);
  g_assert_cmpuint (xs->len, ==, 10);

  destroy_window (window);
  g_unlink (path);
}

static void
test_traces_time_format (void)
{
  static const struct {
    double seconds, step, end;
    const char *text;
  } ticks[] = {
    { 59.52, 0.01, 60, "59.52 s" },
    { 2.5, 0.5, 5, "2.5 s" },
    { 40, 2, 50, "40 s" },
    { 0.25, 0.05, 0.5, "250 ms" },
    { 0.0125, 0.0005, 0.02, "12.5 ms" },
    { -1e-17, 0.1, 1, "0.0 s" },
  };
  static const struct {
    double seconds, precision, end;
    const char *text;
  } cursors[] = {
    { 59.52263, 0.0005, 60, "59.5226 s" },
    { 2.87219, 0.001, 5, "2.872 s" },
    { 0.12346, 0.0001, 0.5, "123.5 ms" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (ticks); i++)
    {
      g_autofree char *text = _imp_traces_format_time (ticks[i].seconds,
                                                       ticks[i].step,
                                                       ticks[i].end);

      g_assert_cmpstr (text, ==, ticks[i].text);
    }

  for (guint i = 0; i < G_N_ELEMENTS (cursors); i++)
    {
      g_autofree char *text = NULL;

      text = _imp_traces_format_cursor_time (cursors[i].seconds,
                                             cursors[i].precision,
                                             cursors[i].end);
      g_assert_cmpstr (text, ==, cursors[i].text);
    }
}

/* The recordings the tests wrote, and the project files that opening
 * them wrote beside them. */
static void
remove_files (const char *dir_path)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_unlink (path);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_home = NULL;
  char *recent = NULL;
  ImpSimParams params;
  int status;

  tmp_dir = g_dir_make_tmp ("imprint-test-window-XXXXXX", &error);
  g_assert_no_error (error);

  /* Keep recent files out of the user's list. */
  data_home = g_build_filename (tmp_dir, "data", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  gtk_test_init (&argc, &argv, NULL);

  recording_path = g_build_filename (tmp_dir, "small.h5", NULL);
  imp_sim_params_init_default (&params);
  params.n_neurons = 12;
  params.duration_s = 20;
  params.seed = 7;
  params.connection_prob = 0.2;
  if (!imp_simulate (&params, recording_path, NULL, NULL, NULL, NULL,
                     &error))
    g_error ("Failed to simulate a recording: %s", error->message);

  app = imp_application_new ();
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/app/Session/notify", test_session_notify);
  g_test_add_func ("/app/TraceCache/exact", test_trace_cache_exact);
  g_test_add_func ("/app/TraceCache/bounded", test_trace_cache_bounded);
  g_test_add_func ("/app/TraceCache/refine", test_trace_cache_refine);
  g_test_add_func ("/app/TraceCache/pyramid", test_trace_cache_pyramid);
  g_test_add_func ("/app/TraceCache/summarise",
                   test_trace_cache_summarise);
  g_test_add_func ("/app/Application/open", test_application_open);
  g_test_add_func ("/app/Window/views", test_window_views);
  g_test_add_func ("/app/Window/open", test_window_open);
  g_test_add_func ("/app/Window/header", test_window_header);
  g_test_add_func ("/app/Window/selection", test_window_selection);
  g_test_add_func ("/app/Traces/keys", test_traces_keys);
  g_test_add_func ("/app/Traces/exact-zoomed-out",
                   test_traces_exact_zoomed_out);
  g_test_add_func ("/app/Traces/units", test_traces_units);
  g_test_add_func ("/app/Traces/lone-spike", test_traces_lone_spike);
  g_test_add_func ("/app/Traces/sweeps-and-labels",
                   test_traces_sweeps_and_labels);
  g_test_add_func ("/app/Traces/time-format", test_traces_time_format);
  g_test_add_func ("/app/Window/drop", test_window_drop);
  g_test_add_func ("/app/Window/bad-file", test_window_bad_file);
  g_test_add_func ("/app/Window/cancel", test_window_cancel);

  status = g_test_run ();

  g_clear_object (&app);
  g_unlink (recording_path);
  if (spike_path != NULL)
    g_unlink (spike_path);
  g_free (spike_path);
  g_free (recent);
  recent = g_build_filename (data_home, "recently-used.xbel", NULL);
  g_unlink (recent);
  g_free (recording_path);
  g_free (recent);
  g_rmdir (data_home);
  remove_files (tmp_dir);
  g_rmdir (tmp_dir);
  g_free (tmp_dir);

  return status;
}

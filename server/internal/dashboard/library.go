package dashboard

import (
	"net/http"

	"github.com/cstar-chat/cstar/server/internal/library"
	"github.com/cstar-chat/cstar/server/internal/page"
)

// libraryPage lists the mode's categories and articles (the first hundred
// of each: a help centre bigger than that wants search, which is later).
func (h *Handler) library(w http.ResponseWriter, r *req) error {
	cats, err := h.Library.ListCategories(r.Context(), r.scope(), page.Params{Limit: page.MaxLimit})
	if err != nil {
		return err
	}
	arts, err := h.Library.ListArticles(r.Context(), r.scope(), library.ArticleFilter{}, page.Params{Limit: page.MaxLimit})
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, c := range cats.Items {
		names[c.ID] = c.Name
	}
	h.render(w, r, http.StatusOK, "library", map[string]any{"Categories": cats.Items, "Articles": arts.Items, "Names": names},
		"Library")
	return nil
}

func formPtr(r *req, name string) *string {
	if _, ok := r.PostForm[name]; !ok {
		return nil
	}
	v := r.PostFormValue(name)
	return &v
}

func (h *Handler) createCategory(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/library"
	r.ParseForm()
	_, err := h.Library.CreateCategory(r.Context(), r.scope(), library.CategoryInput{Name: formPtr(r, "name"),
		Slug: formPtr(r, "slug"), Description: formPtr(r, "description")})
	if err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Added the category.")
}

func (h *Handler) updateCategory(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/library"
	r.ParseForm()
	_, err := h.Library.UpdateCategory(r.Context(), r.scope(), r.PathValue("id"), library.CategoryInput{Name: formPtr(r, "name"),
		Slug: formPtr(r, "slug"), Description: formPtr(r, "description")})
	if err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Saved the category.")
}

func (h *Handler) deleteCategory(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/library"
	if err := h.Library.DeleteCategory(r.Context(), r.scope(), r.PathValue("id")); err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Deleted the category; its articles stay, without a category.")
}

func (h *Handler) articlePage(w http.ResponseWriter, r *req, a library.Article) error {
	cats, err := h.Library.ListCategories(r.Context(), r.scope(), page.Params{Limit: page.MaxLimit})
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "article", map[string]any{"A": a, "Categories": cats.Items, "Preview": renderMarkdown(a.Body)},
		"Article")
	return nil
}

func (h *Handler) newArticle(w http.ResponseWriter, r *req) error {
	return h.articlePage(w, r, library.Article{Status: library.Draft})
}

func (h *Handler) editArticle(w http.ResponseWriter, r *req) error {
	a, err := h.Library.Article(r.Context(), r.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.articlePage(w, r, a)
}

func articleInput(r *req) library.ArticleInput {
	r.ParseForm()
	return library.ArticleInput{Title: formPtr(r, "title"), Slug: formPtr(r, "slug"), Body: formPtr(r, "body"),
		Status: formPtr(r, "status"), CategoryID: formPtr(r, "category_id")}
}

func (h *Handler) createArticle(w http.ResponseWriter, r *req) error {
	a, err := h.Library.CreateArticle(r.Context(), r.scope(), articleInput(r))
	if err != nil {
		return h.refused(w, r, r.base()+"/settings/library/articles/new", err)
	}
	return h.back(w, r, r.base()+"/settings/library/articles/"+a.ID, "Saved the article ("+a.Status+").")
}

func (h *Handler) updateArticle(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/library/articles/" + r.PathValue("id")
	a, err := h.Library.UpdateArticle(r.Context(), r.scope(), r.PathValue("id"), articleInput(r))
	if err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Saved the article ("+a.Status+").")
}

func (h *Handler) deleteArticle(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/library"
	if err := h.Library.DeleteArticle(r.Context(), r.scope(), r.PathValue("id")); err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Deleted the article.")
}

// previewArticle renders Markdown as the preview shows it, for the editor's
// script.
func (h *Handler) previewArticle(w http.ResponseWriter, r *req) error {
	body := r.PostFormValue("body")
	if len(body) > library.MaxArticleBody {
		body = body[:library.MaxArticleBody]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(renderMarkdown(body)))
	return nil
}

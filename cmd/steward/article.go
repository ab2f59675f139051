package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The article commands keep the service desk's knowledge base (issue
// 20): list and show read as --as (the system without it); create and
// publish write as --as, who must work the service's tickets.

func articleCommands() []*command {
	return []*command{
		{name: "list", summary: "knowledge articles: --service, --state, --q words", run: articleList},
		{name: "show", args: "REF", summary: "an article (KB-000042) and its Markdown", run: articleShow},
		{name: "create", summary: "write a draft article as --as about --service, the body from --body or --file (- for stdin)", run: articleCreate},
		{name: "publish", args: "REF", summary: "publish an article as --as: readers see it, Get help suggests it", run: articlePublish},
	}
}

func articleList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List knowledge articles, most recently changed first: the published ones, and drafts and retired ones of the services --as writes.")
	c := addCatalogFlags(fs)
	service := fs.String("service", "", "only articles about this service (code or ID)")
	state := fs.String("state", "", "draft, published or retired")
	q := fs.String("q", "", "words that must all be in the title or the body")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, p, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	f := knowledge.Filter{Service: *service, State: knowledge.State(*state), Query: *q, Page: sqldb.Page{Limit: sqldb.MaxLimit}}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ARTICLE\tSTATE\tSERVICE\tUPDATED\tTITLE")
	for {
		pg, err := a.Knowledge.Articles(ctx, p, f)
		if err != nil {
			return describe(err)
		}
		for _, x := range pg.Items {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", x.Reference, x.State, x.Service.Code, x.UpdatedAt.Format("2006-01-02 15:04"), x.Title)
		}
		if f.Page.Cursor = pg.Next; f.Page.Cursor == "" {
			return w.Flush()
		}
	}
}

func articleShow(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Show a knowledge article: its facts and its Markdown.")
	c := addCatalogFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	a, p, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	x, err := a.Knowledge.Article(ctx, p, fs.Arg(0))
	if err != nil {
		return describe(err)
	}
	printArticle(e, x)
	fmt.Fprintf(e.stdout, "\n%s\n", x.Body)
	return nil
}

func printArticle(e env, x *knowledge.Article) {
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "%s\t%s\n", x.Reference, x.Title)
	fmt.Fprintf(w, "state\t%s\n", x.State)
	fmt.Fprintf(w, "service\t%s (%s)\n", x.Service.Name, x.Service.Code)
	if x.Author != nil {
		fmt.Fprintf(w, "author\t%s\n", x.Author.Name)
	}
	fmt.Fprintf(w, "updated\t%s\n", x.UpdatedAt.Format("2006-01-02 15:04"))
	if x.PublishedAt != nil {
		fmt.Fprintf(w, "published\t%s\n", x.PublishedAt.Format("2006-01-02 15:04"))
	}
	w.Flush()
}

func articleCreate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Write a draft knowledge article as --as (who works the service's tickets) about --service; publish it with steward article publish.")
	c := addCatalogFlags(fs)
	service := fs.String("service", "", "the service it is about (code or ID)")
	title := fs.String("title", "", "the title, at most 200 characters")
	body := fs.String("body", "", "the article in Markdown")
	file := fs.String("file", "", "read the Markdown from this file (- for stdin) instead of --body")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *c.as == "" {
		return usagef("%s: say who writes it with --as EMAIL", e.cmd)
	}
	if *file != "" {
		if *body != "" {
			return usagef("%s: give the body with --body or --file, not both", e.cmd)
		}
		var b []byte
		var err error
		if *file == "-" {
			b, err = io.ReadAll(io.LimitReader(e.stdin, knowledge.MaxBody*4+1))
		} else {
			b, err = os.ReadFile(*file)
		}
		if err != nil {
			return fmt.Errorf("read the article: %w", err)
		}
		*body = string(b)
	}
	a, p, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	x, err := a.Knowledge.Create(ctx, p, knowledge.Input{Service: *service, Title: *title, Body: *body})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "wrote %s as a draft: publish it with steward article publish %s --as %s\n", x.Reference, x.Reference, *c.as)
	return nil
}

func articlePublish(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Publish a knowledge article as --as: everyone who may read the catalog reads it and Get help suggests it.")
	c := addCatalogFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if *c.as == "" {
		return usagef("%s: say who publishes it with --as EMAIL", e.cmd)
	}
	a, p, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	x, err := a.Knowledge.Publish(ctx, p, fs.Arg(0))
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "published %s: %s\n", x.Reference, x.Title)
	return nil
}

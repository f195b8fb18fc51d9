package plugin

import (
	"context"
	"errors"
	"time"

	"jobfastexecutescript/internal/bkciapi"
)

// The build API (docs/BKCI.md#the-build-api): the private config when input.json has none, and the
// JOB link on the pipeline canvas. Neither may slow the step much nor fail it.
const (
	privateConfigTimeout  = 5 * time.Second // per attempt
	privateConfigAttempts = 2
	linkTimeout           = 2 * time.Second
)

// buildAPI returns the client for the build API the worker's .sdk.json names, or nil (not under BK-CI,
// or an old worker).
func (s *step) buildAPI(timeout time.Duration) *bkciapi.Client {
	if s.in == nil {
		return nil
	}
	if s.sdk == nil { // read once: the private config and the link both need it
		env, err := bkciapi.ReadSDKEnv(s.in.DataDir)
		if err != nil {
			return nil
		}
		s.sdk = &env
	}
	return bkciapi.New(*s.sdk, timeout)
}

// privateConfigFromBuildAPI reads the private config through the build API; nil when there is none
// to call or it could not be read (a warning then: the environment is the fallback).
func (s *step) privateConfigFromBuildAPI(ctx context.Context) map[string]string {
	c := s.buildAPI(privateConfigTimeout)
	if c == nil {
		return nil
	}
	var err error
	for attempt := 1; attempt <= privateConfigAttempts; attempt++ {
		var m map[string]string
		if m, err = c.PrivateConfig(ctx, AtomCode); err == nil {
			for _, v := range m {
				s.log.AddSecret(v) // every value, whatever its key: the administrator's, never printed
			}
			return m
		}
		if ctx.Err() != nil {
			break
		}
	}
	s.log.Warn(s.t("msg.private_config_api", err.Error()))
	return nil
}

// reportLink reports the job's link for the pipeline canvas in the background, once; finish waits for
// it (at most linkTimeout). Where the build API is missing or refuses, one debug line says so.
func (s *step) reportLink(link string) {
	if s.linkDone != nil || link == "" {
		return
	}
	c := s.buildAPI(linkTimeout)
	if c == nil {
		s.log.Debug(s.t("msg.link_not_reported", "no build API"))
		return
	}
	done := make(chan struct{})
	s.linkDone = done
	pipelineID := s.in.Get("BK_CI_PIPELINE_ID")
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), linkTimeout)
		defer cancel()
		if err := c.ReportLink(ctx, pipelineID, link); err != nil {
			if errors.Is(err, bkciapi.ErrLinkRefused) {
				s.log.Debug(s.t("msg.link_not_reported", "refused"))
				return
			}
			s.log.Debug(s.t("msg.link_not_reported", err.Error()))
		}
	}()
}

// waitLink waits for the link's report, if one is under way.
func (s *step) waitLink() {
	if s.linkDone != nil {
		select {
		case <-s.linkDone:
		case <-time.After(linkTimeout + time.Second):
		}
	}
}

package sla

import "github.com/steward-itaas/steward/internal/access"

// MayReadOutages reports whether p may read the outage record: everyone
// who reads every agreement, and those who record outages. The portal
// links to the outages page only for them (issue 17, item 7).
func MayReadOutages(p *access.Principal) bool {
	return p != nil && (p.Can(access.AgreementRead, access.Resource{}) || p.CanAnywhere(access.OutageRecord))
}

// VisibleTo reports whether p may open the agreement: the portal links to
// an agreement only for those (issue 17, item 7).
func (a *Agreement) VisibleTo(p *access.Principal) bool {
	return a != nil && p.CanAnywhere(access.AgreementRead) && a.visible(p)
}

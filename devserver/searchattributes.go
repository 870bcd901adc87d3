package devserver

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// ensureSearchAttributes registers every name in names as a Keyword search attribute of
// namespace, skipping those already there.
//
// A new namespace already got them when it was written to the database (ensureNamespace);
// this covers a DataDir created before a name was added to Options. Asking first keeps
// restarts quiet (the server logs a warning for each re-added name) and lets us catch a name
// that exists with another type, which would break the typed keys in package workflows.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	existing, err := c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}

	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range names {
		typ, ok := existing.GetCustomAttributes()[name]
		if !ok {
			typ, ok = existing.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		case typ != enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			return fmt.Errorf("search attribute %q already exists with type %s, want Keyword", name, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}

	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) { // a concurrent start may have added them
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

//! Evaluation of every supported function against the values the ARM documentation
//! gives, unknown propagation, and the `[[` escape.

use std::rc::Rc;

use jsonc_parser::ast::Value as Ast;
use serde_json::{json, Value as Json};

use super::{Env, Scope, Value};

const TEMPLATE: &str = r#"{
  "parameters": {
    "name": { "type": "string", "defaultValue": "contoso" },
    "count": { "type": "int", "defaultValue": 3 },
    "flag": { "type": "bool", "defaultValue": true },
    "tags": { "type": "object", "defaultValue": { "env": "prod", "team": "payments" } },
    "zones": { "type": "array", "defaultValue": [ "1", "2", "3" ] },
    "secret": { "type": "securestring" },
    "optional": { "type": "string", "nullable": true },
    "loop": { "type": "string", "defaultValue": "[concat('x', parameters('loop'))]" }
  },
  "variables": {
    "prefix": "[concat('st', parameters('name'))]",
    "acls": { "defaultAction": "Deny", "bypass": "AzureServices" },
    "copy": [ { "name": "disks", "count": 2, "input": { "lun": "[copyIndex('disks')]" } } ],
    "self": "[variables('self')]"
  },
  "functions": [
    { "namespace": "util", "members": {
      "greet": { "parameters": [ { "name": "who", "type": "string" } ], "output": { "type": "string", "value": "[format('hi {0}', parameters('who'))]" } },
      "pair": { "parameters": [ { "name": "a", "type": "string" }, { "name": "b", "type": "string" } ], "output": { "type": "object", "value": { "known": "[parameters('a')]", "other": "[parameters('b')]" } } }
    } }
  ]
}"#;

fn eval(expr: &str) -> Json {
    let ast = crate::parse::parse(TEMPLATE).unwrap().unwrap();
    let Ast::Object(obj) = &ast else {
        unreachable!()
    };
    let env = Env::new(Rc::new(Scope::new(obj, Value::str("main"))));
    env.eval_string(expr).to_json()
}

fn unknown(expr: &str) -> bool {
    eval(expr).get("$unknown").is_some()
}

/// Evaluates every expression and reports all that differ from what is expected.
fn assert_cases(cases: &[(&str, Json)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(expr, expected)| {
            let got = eval(expr);
            (&got != expected)
                .then(|| format!("{expr}\n    expected {expected}\n    got      {got}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_function_evaluates_as_documented() {
    let cases: &[(&str, Json)] = &[
        ("plain text", json!("plain text")),
        ("[[not an expression]", json!("[not an expression]")),
        ("['it''s']", json!("it's")),
        ("[parameters('name')]", json!("contoso")),
        ("[parameters('NAME')]", json!("contoso")),
        ("[variables('prefix')]", json!("stcontoso")),
        ("[variables('acls').defaultAction]", json!("Deny")),
        ("[variables('acls')['bypass']]", json!("AzureServices")),
        ("[variables('disks')[1].lun]", json!(1)),
        ("[parameters('optional')]", Json::Null),
        ("[concat('a', 'b', 'c')]", json!("abc")),
        ("[concat(createArray(1, 2), createArray(3))]", json!([1, 2, 3])),
        ("[format('{0}-{1:D3}', 'vm', 7)]", json!("vm-007")),
        ("[format('{0:N0}', 8175133)]", json!("8,175,133")),
        ("[format('{{literal}} {0}', 'x')]", json!("{literal} x")),
        ("[if(parameters('flag'), 'yes', 'no')]", json!("yes")),
        ("[if(false, parameters('secret'), 'only this branch')]", json!("only this branch")),
        ("[equals('a', 'a')]", json!(true)),
        ("[equals('a', 'A')]", json!(false)),
        ("[equals(createArray(1, 2), createArray(1, 2))]", json!(true)),
        ("[not(true)]", json!(false)),
        ("[and(true, true, false)]", json!(false)),
        ("[or(false, true)]", json!(true)),
        ("[and(false, parameters('secret'))]", json!(false)),
        ("[or(true, parameters('secret'))]", json!(true)),
        ("[bool('TRUE')]", json!(true)),
        ("[bool(0)]", json!(false)),
        ("[int('42')]", json!(42)),
        ("[string(true)]", json!("True")),
        ("[string(createObject('a', 1))]", json!("{\"a\":1}")),
        ("[string(5)]", json!("5")),
        ("[json('{\"a\": [1, null]}')]", json!({"a": [1, null]})),
        ("[json('null')]", Json::Null),
        ("[null()]", Json::Null),
        ("[empty('')]", json!(true)),
        ("[empty(createArray())]", json!(true)),
        ("[empty(createObject('a', 1))]", json!(false)),
        ("[empty(null())]", json!(true)),
        ("[contains('OneTwo', 'Two')]", json!(true)),
        ("[contains('OneTwo', 'two')]", json!(false)),
        ("[contains(parameters('tags'), 'ENV')]", json!(true)),
        ("[contains(parameters('zones'), '2')]", json!(true)),
        ("[coalesce(null(), parameters('optional'), 'fallback')]", json!("fallback")),
        ("[union(createObject('a', 1, 'n', createObject('x', 1)), createObject('b', 2, 'n', createObject('y', 2)))]", json!({"a": 1, "n": {"x": 1, "y": 2}, "b": 2})),
        ("[union(createArray(1, 2), createArray(2, 3))]", json!([1, 2, 3])),
        ("[intersection(createArray(1, 2, 3), createArray(2, 3, 4))]", json!([2, 3])),
        ("[intersection(createObject('a', 1, 'b', 2), createObject('a', 1, 'b', 3))]", json!({"a": 1})),
        ("[createObject('k', 'v')]", json!({"k": "v"})),
        ("[createArray('a', 1)]", json!(["a", 1])),
        ("[array('x')]", json!(["x"])),
        ("[array(createArray(1))]", json!([1])),
        ("[first(parameters('zones'))]", json!("1")),
        ("[last('abc')]", json!("c")),
        ("[length(parameters('zones'))]", json!(3)),
        ("[length('héllo')]", json!(5)),
        ("[length(parameters('tags'))]", json!(2)),
        ("[toLower('AbC')]", json!("abc")),
        ("[toUpper('AbC')]", json!("ABC")),
        ("[replace('a-b-c', '-', '')]", json!("abc")),
        ("[split('a,b;c', createArray(',', ';'))]", json!(["a", "b", "c"])),
        ("[split('a,,b', ',')]", json!(["a", "", "b"])),
        ("[join(createArray('a', 'b'), '/')]", json!("a/b")),
        ("[trim('  x  ')]", json!("x")),
        ("[startsWith('Microsoft.Storage', 'microsoft.')]", json!(true)),
        ("[endsWith('name.json', '.JSON')]", json!(true)),
        ("[indexOf('abcdef', 'CD')]", json!(2)),
        ("[lastIndexOf('abcabc', 'b')]", json!(4)),
        ("[indexOf(createArray('a', 'b'), 'b')]", json!(1)),
        ("[substring('hello', 1, 3)]", json!("ell")),
        ("[substring('hello', 2)]", json!("llo")),
        ("[take('hello', 2)]", json!("he")),
        ("[skip(createArray(1, 2, 3), 1)]", json!([2, 3])),
        ("[min(3, 1, 2)]", json!(1)),
        ("[max(createArray(3, 9, 2))]", json!(9)),
        ("[range(5, 3)]", json!([5, 6, 7])),
        ("[tryGet(parameters('tags'), 'missing')]", Json::Null),
        ("[tryGet(parameters('tags'), 'env')]", json!("prod")),
        ("[shallowMerge(createArray(createObject('a', 1, 'n', createObject('x', 1)), createObject('n', createObject('y', 2))))]", json!({"a": 1, "n": {"y": 2}})),
        ("[objectKeys(parameters('tags'))]", json!(["env", "team"])),
        ("[items(createObject('b', 2, 'a', 1))]", json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])),
        ("[filter(createArray(1, 2, 3, 4), lambda('n', greater(lambdaVariables('n'), 2)))]", json!([3, 4])),
        ("[map(parameters('zones'), lambda('z', concat('zone-', lambdaVariables('z'))))]", json!(["zone-1", "zone-2", "zone-3"])),
        ("[reduce(createArray(1, 2, 3), 0, lambda('acc', 'n', add(lambdaVariables('acc'), lambdaVariables('n'))))]", json!(6)),
        ("[sort(createArray(3, 1, 2), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]", json!([1, 2, 3])),
        ("[toObject(createArray('a', 'b'), lambda('k', lambdaVariables('k')), lambda('k', toUpper(lambdaVariables('k'))))]", json!({"a": "A", "b": "B"})),
        ("[greater(2, 1)]", json!(true)),
        ("[less('a', 'b')]", json!(true)),
        ("[greaterOrEquals(2, 2)]", json!(true)),
        ("[lessOrEquals(3, 2)]", json!(false)),
        ("[add(2, 3)]", json!(5)),
        ("[sub(2, 3)]", json!(-1)),
        ("[mul(4, 3)]", json!(12)),
        ("[div(7, 2)]", json!(3)),
        ("[mod(7, 2)]", json!(1)),
        ("[util.greet('you')]", json!("hi you")),
        ("[resourceId('Microsoft.Storage/storageAccounts', 'st1')]", json!("/subscriptions/{subscription().subscriptionId}/resourceGroups/{resourceGroup().name}/providers/Microsoft.Storage/storageAccounts/st1")),
        ("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'snet')]", json!("/subscriptions/{subscription().subscriptionId}/resourceGroups/{resourceGroup().name}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet")),
        ("[resourceId('rg2', 'Microsoft.Storage/storageAccounts', 'st1')]", json!("/subscriptions/{subscription().subscriptionId}/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/st1")),
        ("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]", json!("/subscriptions/{subscription().subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/abc")),
        ("[tenantResourceId('Microsoft.Authorization/policyDefinitions', 'p')]", json!("/providers/Microsoft.Authorization/policyDefinitions/p")),
        ("[environment().suffixes.storage]", json!("core.windows.net")),
        ("[environment().suffixes.keyvaultDns]", json!(".vault.azure.net")),
        ("[environment().name]", json!("AzureCloud")),
        ("[resourceGroup().name]", json!("{resourceGroup().name}")),
        ("[concat(resourceGroup().location, '-x')]", json!("{resourceGroup().location}-x")),
        ("[subscription().subscriptionId]", json!("{subscription().subscriptionId}")),
        ("[tenant().tenantId]", json!("{tenant().tenantId}")),
        ("[deployment().name]", json!("main")),
        ("[base64('one, two')]", json!("b25lLCB0d28=")),
        ("[base64ToString('b25lLCB0d28=')]", json!("one, two")),
        ("[padLeft('7', 3, '0')]", json!("007")),
        ("[uri('http://contoso.org/firstpath', 'myscript.sh')]", json!("http://contoso.org/myscript.sh")),
    ];
    assert_cases(cases);
}

#[test]
fn copy_index_in_loops() {
    let ast = crate::parse::parse(TEMPLATE).unwrap().unwrap();
    let Ast::Object(obj) = &ast else {
        unreachable!()
    };
    let env = Env::new(Rc::new(Scope::new(obj, Value::str("main")))).with_copy("vms", 2);
    assert_eq!(env.eval_string("[copyIndex()]").to_json(), json!(2));
    assert_eq!(env.eval_string("[copyIndex(1)]").to_json(), json!(3));
    assert_eq!(
        env.eval_string("[copyIndex('vms', 10)]").to_json(),
        json!(12)
    );
    assert!(env
        .eval_string("[copyIndex('other')]")
        .to_json()
        .get("$unknown")
        .is_some());
}

#[test]
fn deterministic_hashes() {
    assert_eq!(
        eval("[uniqueString('a', 'b')]"),
        eval("[uniqueString('a', 'b')]")
    );
    assert_ne!(
        eval("[uniqueString('a', 'b')]"),
        eval("[uniqueString('ab')]")
    );
    assert_eq!(eval("[uniqueString('rg')]").as_str().unwrap().len(), 13);
    // Of deployment-time values, the call itself is shown.
    assert_eq!(
        eval("[uniqueString(resourceGroup().id)]"),
        json!("{uniqueString(resourceGroup().id)}")
    );
    let g = eval("[guid('x')]");
    assert_eq!(g.as_str().unwrap().len(), 36);
    assert_eq!(g, eval("[guid('x')]"));
}

#[test]
fn unknown_propagates() {
    for expr in [
        "[parameters('secret')]",
        "[concat('x', parameters('secret'))]",
        "[toLower(parameters('secret'))]",
        "[if(equals(parameters('secret'), 'a'), 'Deny', 'Allow')]",
        "[createObject('a', parameters('secret')).a]",
        "[length(parameters('secret'))]",
        "[reference('someResource').primaryEndpoints.blob]",
        "[listKeys('st', '2023-01-01').keys[0].value]",
        "[utcNow()]",
        "[newGuid()]",
        "[parameters('nope')]",
        "[variables('self')]",
        "[equals(resourceGroup().location, 'westeurope')]",
        "[parameters('zones')[7]]",
        "[unsupportedFunction(1)]",
    ] {
        assert!(
            unknown(expr),
            "{expr} should be unknown, got {}",
            eval(expr)
        );
    }
    // A known branch never looks at the unknown one.
    assert_eq!(
        eval("[if(true, 'Deny', parameters('secret'))]"),
        json!("Deny")
    );
    assert_eq!(
        eval("[coalesce('set', parameters('secret'))]"),
        json!("set")
    );
    // Placeholders compare with each other, never with literals.
    assert_eq!(
        eval("[equals(resourceGroup().name, resourceGroup().name)]"),
        json!(true)
    );
}

#[test]
fn parse_errors_are_unknown_not_panics() {
    assert!(unknown("[concat('a',]"));
    assert!(unknown("[')]"));
}

mod properties {
    use super::super::parse::{check_expression, parse_template_string};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC*") {
            let _ = parse_template_string(&s);
            let _ = parse_template_string(&format!("[{s}]"));
        }

        #[test]
        fn parser_never_panics_on_expression_like_text(s in "[a-z(),.'\\[\\] 0-9-]{0,60}") {
            let text = format!("[{s}]");
            let parsed = parse_template_string(&text);
            // The allocation-free check used by EXPR001 agrees with the parser.
            prop_assert_eq!(check_expression(&text).err(), parsed.err());
            let _ = super::eval(&text);
        }
    }
}

#[test]
fn reference_to_a_declared_resource_knows_its_endpoints() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/expand/references.json"
    ))
    .unwrap();
    let ast = crate::parse::parse(&text).unwrap().unwrap();
    let Ast::Object(obj) = &ast else {
        unreachable!()
    };
    let env = Env::new(Rc::new(Scope::new(obj, Value::str("main"))));
    let eval = |e: &str| env.eval_string(e).to_json();
    assert_eq!(
        eval("[reference(resourceId('Microsoft.KeyVault/vaults', 'kvx')).vaultUri]"),
        json!("https://kvx.vault.azure.net/")
    );
    assert_eq!(
        eval("[reference('kvx').vaultUri]"),
        json!("https://kvx.vault.azure.net/")
    );
    assert_eq!(
        eval(
            "[reference(resourceId('Microsoft.KeyVault/vaults/secrets', 'kvx', 'tls')).secretUri]"
        ),
        json!("https://kvx.vault.azure.net/secrets/tls")
    );
    assert_eq!(eval("[reference(resourceId('Microsoft.Storage/storageAccounts', 'stx')).primaryEndpoints.blob]"), json!("https://stx.blob.core.windows.net/"));
    assert_eq!(
        eval(
            "[reference(resourceId('Microsoft.Storage/storageAccounts', 'stx')).minimumTlsVersion]"
        ),
        json!("TLS1_2")
    );
    assert_eq!(eval("[reference(resourceId('Microsoft.ContainerRegistry/registries', 'crx'), '2023-07-01', 'Full').properties.loginServer]"), json!("crx.azurecr.io"));
    // Runtime-only properties and resources outside the template stay unknown.
    assert!(eval(
        "[reference(resourceId('Microsoft.Storage/storageAccounts', 'stx')).creationTime]"
    )
    .get("$unknown")
    .is_some());
    assert!(eval("[reference(resourceId('Microsoft.Storage/storageAccounts', 'elsewhere')).primaryEndpoints.blob]").get("$unknown").is_some());
    // An existing resource's state is never guessed from its declaration.
    assert_eq!(
        eval("[reference('kv-shared').vaultUri]"),
        json!({"$unknown": "`reference('kv-shared')` reads the deployed state of existing resource `kv-shared`"})
    );
}

#[test]
fn self_references_are_unknown_and_say_so() {
    for (expr, says) in [
        ("[variables('self')]", "variable `self` refers to itself"),
        ("[parameters('loop')]", "parameter `loop` refers to itself"),
    ] {
        let value = eval(expr);
        let reason = value["$unknown"].as_str().unwrap_or_default();
        assert!(reason.contains(says), "{expr}: {value}");
    }
}

#[test]
fn functions_added_for_real_templates_evaluate_as_documented() {
    let cases: &[(&str, Json)] = &[
        ("[flatten(createArray(createArray('a', 'b'), createArray('c'), createArray()))]", json!(["a", "b", "c"])),
        ("[flatten(createArray(createArray(createArray(1))))]", json!([[1]])),
        ("[uriComponent('http://contoso.com/resources/nested/azuredeploy.json')]", json!("http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json")),
        ("[uriComponentToString('http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json')]", json!("http://contoso.com/resources/nested/azuredeploy.json")),
        ("[uriComponentToString('%E2%82%AC 100%')]", json!("€ 100%")),
        ("[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]", json!("Hello, World!")),
        ("[dataUriToString(dataUri('Hello'))]", json!("Hello")),
        ("[base64ToJson('eyJvbmUiOiAiYSIsICJ0d28iOiAiYiJ9')]", json!({"one": "a", "two": "b"})),
        ("[parseCidr('10.144.0.0/20').lastUsable]", json!("10.144.15.254")),
        ("[cidrSubnet('10.144.0.0/20', 24, 3)]", json!("10.144.3.0/24")),
        ("[cidrHost('10.144.3.0/24', 0)]", json!("10.144.3.1")),
        ("[dateTimeAdd('2023-01-01 00:00:00Z', 'P1Y')]", json!("2024-01-01T00:00:00Z")),
        ("[dateTimeToEpoch('2023-05-02T15:16:13Z')]", json!(1_683_040_573)),
        ("[dateTimeFromEpoch(1683040573)]", json!("2023-05-02T15:16:13Z")),
        // Only the branch taken is evaluated: a `fail` elsewhere does not matter.
        ("[if(true, 'ok', fail('never'))]", json!("ok")),
        // Exact-case key first, then any case.
        ("[createObject('True', 1, 'true', 2)[string(empty(''))]]", json!(1)),
        ("[createObject('True', 1, 'true', 2)['true']]", json!(2)),
        ("[createObject('Env', 'prod')['env']]", json!("prod")),
        // Known parts of partly unknown values.
        ("[createObject('bypass', 'AzureServices', 'ipRules', parameters('secret')).bypass]", json!("AzureServices")),
        ("[createArray('a', parameters('secret'))[0]]", json!("a")),
        ("[length(createArray(1, parameters('secret'), 3))]", json!(3)),
        ("[empty(createArray(parameters('secret')))]", json!(false)),
        ("[util.pair('x', parameters('secret')).known]", json!("x")),
    ];
    assert_cases(cases);
    for expr in [
        "[fail('the region is not supported')]",
        "[createObject(parameters('secret'), 1).anything]",
        "[createObject('bypass', 'AzureServices', 'ipRules', parameters('secret')).ipRules]",
        "[cidrHost('10.0.0.0/24', 254)]",
        "[dateTimeAdd(utcNow(), 'P1D')]",
        "[dateTimeAdd('2023-01-01T00:00:00Z', 'P1D', 'yyyy')]",
        "[flatten(createArray(1))]",
    ] {
        assert!(
            unknown(expr),
            "{expr} should be unknown, got {}",
            eval(expr)
        );
    }
    assert_eq!(
        eval("[fail('the region is not supported')]"),
        json!({"$unknown": "the deployment fails: the region is not supported"})
    );
}

#[test]
fn parameters_file_values_of_the_wrong_type_are_rejected_as_azure_does() {
    let text = r##"{
      "definitions": { "acl": { "type": "object", "nullable": true } },
      "parameters": {
        "acls": { "$ref": "#/definitions/acl" },
        "name": { "type": "string" },
        "count": { "type": "int", "defaultValue": 1 }
      },
      "resources": []
    }"##;
    let ast = crate::parse::parse(text).unwrap().unwrap();
    let Ast::Object(obj) = &ast else {
        unreachable!()
    };
    // Bound as `Template::build` binds a parameters file's values.
    let mut scope = Scope::new(obj, Value::str("main"));
    for (name, param) in scope.parameters.iter_mut() {
        let value = match name.0 {
            "acls" => Value::array(vec![]),
            "name" => Value::str("st1"),
            _ => Value::null(),
        };
        let value = match param.type_mismatch(name.0, &value, "the parameters file") {
            Some(reason) => Value::unknown(reason),
            None => value,
        };
        param.bound = Some(super::scope::Binding::Given(value));
    }
    let env = Env::new(Rc::new(scope));
    assert_eq!(
        env.eval_string("[parameters('acls')]").to_json(),
        json!({"$unknown": "Azure rejects this deployment: parameter `acls` is an object, the parameters file gives an array"})
    );
    assert_eq!(
        env.eval_string("[parameters('name')]").to_json(),
        json!("st1")
    );
    // Given null: the default applies.
    assert_eq!(env.eval_string("[parameters('count')]").to_json(), json!(1));
}

#[test]
fn objects_known_in_part_keep_what_later_arguments_set() {
    let cases: &[(&str, Json)] = &[
        // A later argument's properties are known whatever the unknown one holds.
        ("[union(parameters('secret'), createObject('bypass', 'None')).bypass]", json!("None")),
        ("[tryGet(union(parameters('secret'), createObject('bypass', 'None')), 'bypass')]", json!("None")),
        ("[shallowMerge(createArray(parameters('secret'), createObject('bypass', 'None'))).bypass]", json!("None")),
        // Nested objects merge: the unknown argument may add to `acls`, not replace
        // what a later argument sets in it.
        ("[union(parameters('secret'), createObject('acls', createObject('bypass', 'None'))).acls.bypass]", json!("None")),
        // Known objects only: as before.
        ("[union(createObject('a', 1), createObject('b', 2))]", json!({"a": 1, "b": 2})),
        ("[empty(union(parameters('secret'), createObject('bypass', 'None')))]", json!(false)),
        ("[contains(union(parameters('secret'), createObject('bypass', 'None')), 'BYPASS')]", json!(true)),
    ];
    assert_cases(cases);
    for expr in [
        // An unknown later argument may replace anything earlier.
        "[union(createObject('bypass', 'AzureServices'), parameters('secret')).bypass]",
        "[shallowMerge(createArray(createObject('bypass', 'None'), parameters('secret'))).bypass]",
        // What the unknown argument alone holds.
        "[union(parameters('secret'), createObject('bypass', 'None')).defaultAction]",
        "[contains(union(parameters('secret'), createObject('bypass', 'None')), 'defaultAction')]",
        "[if(union(parameters('secret'), createObject('a', 1)), 'x', 'y')]",
        // Anything that needs the whole object.
        "[length(union(parameters('secret'), createObject('bypass', 'None')))]",
        "[string(union(parameters('secret'), createObject('bypass', 'None')))]",
        "[equals(union(parameters('secret'), createObject('a', 1)), createObject('a', 1))]",
    ] {
        assert!(
            unknown(expr),
            "{expr} should be unknown, got {}",
            eval(expr)
        );
    }
    assert_eq!(
        eval("[union(parameters('secret'), createObject('bypass', 'None'))]"),
        json!({"bypass": "None", "$unknown": "its other properties: parameter `secret` has no default value and no parameters file gives it one"})
    );
}

#[test]
fn functions_that_need_whole_values_do_not_mistake_unknown_parts() {
    for expr in [
        "[format('{0}', createObject('bypass', parameters('secret')))]",
        "[padLeft(createArray(parameters('secret')), 3)]",
        "[uniqueString(string(createArray(parameters('secret'))))]",
        "[indexOf(createArray(parameters('secret'), 'a'), 'a')]",
        "[intersection(createArray(parameters('secret')), createArray('a'))]",
        "[length(union(createArray(parameters('secret')), createArray('a')))]",
        "[resourceId('Microsoft.Network/')]",
        "[join(createArray('a', parameters('secret')), ',')]",
        "[max(createArray(1, parameters('secret')))]",
        "[resourceId('Microsoft.Network//')]",
    ] {
        assert!(
            unknown(expr),
            "{expr} should be unknown, got {}",
            eval(expr)
        );
    }
}

#[test]
fn known_elements_stay_known_beside_unknown_ones() {
    assert_eq!(
        eval("[join(createArray('a', parameters('secret')), ',')]"),
        json!({"$unknown": "parameter `secret` has no default value and no parameters file gives it one"}),
        "the reason is kept"
    );
    assert_eq!(eval("[uriComponentToString('%+A')]"), json!("%+A"));
    assert_cases(&[
        // Objects that differ in a known property are different, whatever else they hold.
        ("[length(union(createArray(createObject('n', 'a', 'x', parameters('secret'))), createArray(createObject('n', 'b'))))]", json!(2)),
        ("[indexOf(createArray('a', parameters('secret')), 'a')]", json!(0)),
        ("[resourceId('Microsoft.Network/routeTables/', 'rt')]", json!("/subscriptions/{subscription().subscriptionId}/resourceGroups/{resourceGroup().name}/providers/Microsoft.Network/routeTables/rt")),
    ]);
}

#[test]
fn sort_takes_any_lambda_without_panicking() {
    // Not an order at all: every pair says "first goes first".
    let always = eval("[length(sort(range(0, 100), lambda('a', 'b', true())))]");
    assert_eq!(always, json!(100));
    let equal = eval("[sort(createArray(3, 1, 2, 1), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]");
    assert_eq!(equal, json!([1, 1, 2, 3]));
}

#[test]
fn module_outputs_as_arm_returns_them() {
    let text = r#"{
      "resources": [
        { "type": "Microsoft.Resources/deployments", "name": "m", "properties": {
          "expressionEvaluationOptions": { "scope": "inner" },
          "template": {
            "resources": [],
            "outputs": {
              "id": { "type": "string", "value": "abc" },
              "key": { "type": "securestring", "value": "s3cret" }
            }
          } } }
      ]
    }"#;
    let ast = crate::parse::parse(text).unwrap().unwrap();
    let Ast::Object(obj) = &ast else {
        unreachable!()
    };
    let env = Env::new(Rc::new(Scope::new(obj, Value::str("main"))));
    let eval = |e: &str| env.eval_string(e).to_json();
    assert_eq!(eval("[reference('m').outputs.id.value]"), json!("abc"));
    assert_eq!(
        eval("[reference('m', '2022-09-01', 'Full').properties.outputs.id.value]"),
        json!("abc")
    );
    assert_eq!(
        eval("[tryGet(reference('m'), 'outputs', 'missing', 'value')]"),
        Json::Null
    );
    assert_eq!(
        eval("[coalesce(tryGet(reference('m'), 'outputs', 'missing', 'value'), 'Deny')]"),
        json!("Deny")
    );
    assert!(eval("[reference('m').outputs.missing.value]")
        .get("$unknown")
        .is_some());
    assert!(
        eval("[reference('m').outputs.key.value]")
            .get("$unknown")
            .is_some(),
        "secure outputs are not returned"
    );
}

#[test]
fn nullable_is_followed_through_a_ref_below_a_definition() {
    let text = r##"{
      "definitions": {
        "settings": { "type": "object", "properties": {
          "acls": { "type": "object", "nullable": true },
          "alias": { "$ref": "#/definitions/settings/properties/acls" }
        } }
      },
      "parameters": {
        "acls": { "$ref": "#/definitions/settings/properties/alias" }
      },
      "resources": []
    }"##;
    let ast = crate::parse::parse(text).unwrap().unwrap();
    let Ast::Object(obj) = &ast else {
        unreachable!()
    };
    let env = Env::new(Rc::new(Scope::new(obj, Value::str("main"))));
    assert_eq!(
        env.eval_string("[parameters('acls')]").to_json(),
        Json::Null
    );
}

#[test]
fn files_beside_the_linked_template_are_named_relative_to_it() {
    assert_cases(&[
        (
            "[uri(deployment().properties.templateLink.uri, 'nested/x.json?sv=1&sig=abc')]",
            json!("{deployment().properties.templateLink.uri}/nested/x.json"),
        ),
        (
            "[uri(uri(deployment().properties.templateLink.uri, 'nested/'), '../y.json')]",
            json!("{deployment().properties.templateLink.uri}/nested/../y.json"),
        ),
        (
            "[uri(deployment().properties.templateLink.uri, 'https://example.com/z.json')]",
            json!({"$unknown": "`{deployment().properties.templateLink.uri}` is known only at deployment time"}),
        ),
    ]);
}

// The source of main.json (`bicep build main.bicep`). Bicep drops comments, so the
// suppression goes in the resource's description, which compiles to metadata.description.
param location string = resourceGroup().location

@description('''Long-term archive for diagnostic logs.
trustlint-ignore STG001: written only by Azure Monitor diagnostic settings; no API Management or Data Factory access
''')
resource logs 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stcontosologarchive'
  location: location
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
    }
  }
}
